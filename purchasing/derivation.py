"""What a purchase suggestion says to a person: how each of its numbers was worked out, line by line, and its row in
an export.

The lines are built only from the figures stored on the suggestion when it was computed (never from today's
stock or policy), so they explain the row as it is, and a buyer can check every step with a calculator. They are
sentences in the reader's language, made when shown. ``windows`` items are read leniently: a row written by an
older engine, or edited by hand, may lack a key, and the page must still open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.errors import clauses_join, words_join
from purchasing.models import Suggestion

TENTH = Decimal("0.1")
HUNDREDTH = Decimal("0.01")
TEN_THOUSANDTH = Decimal("0.0001")
MINUS = "\u2212"  # the minus sign of the formulas, so "−20" reads like "100 − 120"


def _decimal(value: Any) -> Decimal:
    """A stored figure as a Decimal: 0 when it is missing or not a number."""
    if isinstance(value, bool) or value is None:
        return Decimal(0)
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)


def number_text(value: Any) -> str:
    """A figure as people write it: 4.2 for 4.2000, 189 for 189.0000, 3.86 for 3.857142..., −20 for -20. Two
    decimals at most, four below 0.1, so a slow seller's 0.0357 a day is not read as 0.04 or 0."""
    number = _decimal(value)
    if number and not -24 <= number.adjusted() <= 24:  # no figure of a suggestion; a hand-edited window may hold it
        return str(number)
    shown = number.quantize(HUNDREDTH if abs(number) >= TENTH else TEN_THOUSANDTH, rounding=ROUND_HALF_UP)
    text = format(shown.normalize(), "f")
    if text in ("-0", "0"):
        return "0"
    return MINUS + text[1:] if text.startswith("-") else text


def _count(value: Any) -> int:
    """A figure as the ``n`` of a plural form (a fractional count of units reads as plural)."""
    number = _decimal(value)
    return int(number) if number == number.to_integral_value() else 2


def _window_figures(window: Any) -> dict[str, Any]:
    """One stored window with every key there, figured out or 0 where it is missing."""
    if not isinstance(window, Mapping):
        window = {}
    days = _decimal(window.get("days"))
    left_out = window.get("days_left_out")
    if isinstance(left_out, Mapping):
        stockout, promotion, other = left_out.get("stockout"), left_out.get("promotion"), None
    else:  # a total without its reasons
        stockout, promotion, other = None, None, left_out
    left_out_total = _decimal(stockout) + _decimal(promotion) + _decimal(other)
    if "days_counted" in window:
        counted = _decimal(window.get("days_counted"))
    else:
        counted = max(Decimal(0), days - left_out_total)
    units = _decimal(window.get("units"))
    average = units / counted if counted else Decimal(0)
    if "average" in window:
        average = _decimal(window.get("average"))
    return {
        "days": days,
        "weight": _decimal(window.get("weight")),
        "units": units,
        "counted": counted,
        "stockout": _decimal(stockout),
        "promotion": _decimal(promotion),
        "other": _decimal(other),
        "average": average,
        "capped": _decimal(window.get("days_capped")),
        "cap": _decimal(window.get("day_cap")),
    }


def _notes_text(figures: dict[str, Any]) -> str:
    """What was left out of a window and which days were capped: "(1 stock-out day left out)"."""
    left_out = []
    if figures["stockout"]:
        left_out.append(
            ngettext("%(count)s stock-out day", "%(count)s stock-out days", _count(figures["stockout"]))
            % {"count": number_text(figures["stockout"])}
        )
    if figures["promotion"]:
        left_out.append(
            ngettext("%(count)s promotion day", "%(count)s promotion days", _count(figures["promotion"]))
            % {"count": number_text(figures["promotion"])}
        )
    if figures["other"]:
        left_out.append(
            ngettext("%(count)s day", "%(count)s days", _count(figures["other"]))
            % {"count": number_text(figures["other"])}
        )
    notes = []
    if left_out:
        # Translators: the days a sales window did not count: "1 stock-out day, 2 promotion days left out".
        notes.append(_("%(days)s left out") % {"days": words_join(left_out)})
    if figures["capped"]:
        notes.append(
            ngettext(
                "%(count)s day capped at %(cap)s units",
                "%(count)s days capped at %(cap)s units",
                _count(figures["capped"]),
            )
            % {"count": number_text(figures["capped"]), "cap": number_text(figures["cap"])}
        )
    if not notes:
        return ""
    # Translators: notes after a sales window's average, in brackets: "(1 stock-out day left out)".
    return _("(%(notes)s)") % {"notes": words_join(notes)}


def _window_line(figures: dict[str, Any]) -> str:
    window = ngettext("%(count)s day", "%(count)s days", _count(figures["days"])) % {
        "count": number_text(figures["days"])
    }
    if figures["counted"]:
        units = ngettext("%(count)s unit", "%(count)s units", _count(figures["units"])) % {
            "count": number_text(figures["units"])
        }
        counted = ngettext("%(count)s day counted", "%(count)s days counted", _count(figures["counted"])) % {
            "count": number_text(figures["counted"])
        }
        # Translators: one sales window: "7 days: 27 units ÷ 7 days counted = 3.86".
        line = _("%(window)s: %(units)s ÷ %(counted)s = %(average)s") % {
            "window": window,
            "units": units,
            "counted": counted,
            "average": number_text(figures["average"]),
        }
    else:
        # Translators: a sales window of which every day was left out (out of stock, or a promotion).
        line = _("%(window)s: no day counted, average 0") % {"window": window}
    notes = _notes_text(figures)
    return f"{line} {notes}" if notes else line


def _ads_line(suggestion: Suggestion, windows: list[dict[str, Any]]) -> str:
    ads = number_text(suggestion.ads)
    if not windows:
        # Translators: ADS is the average daily sales (日均销量).
        return _("ADS %(ads)s (no sales windows recorded)") % {"ads": ads}
    terms = " + ".join(f"{number_text(figures['weight'])}×{number_text(figures['average'])}" for figures in windows)
    # Translators: ADS is the average daily sales (日均销量), the weighted sum of the windows' averages.
    return _("ADS %(ads)s = %(terms)s") % {"ads": ads, "terms": terms}


def _cover_line(suggestion: Suggestion) -> str:
    figures = {
        "lead": suggestion.lead_time_days,
        "production": suggestion.production_days,
        "qc": suggestion.qc_days,
        "transit": suggestion.transit_days,
    }
    if suggestion.kind == Suggestion.Kind.TRANSFER:
        # A transfer is not produced: its lead time is QC and transit only.
        lead_time = _("lead time %(lead)s (QC %(qc)s + transit %(transit)s)") % figures
    else:
        lead_time = _("lead time %(lead)s (production %(production)s + QC %(qc)s + transit %(transit)s)") % figures
    return ngettext(
        "Cover %(cover)s day = %(lead_time)s + safety %(safety)s + review period %(review)s",
        "Cover %(cover)s days = %(lead_time)s + safety %(safety)s + review period %(review)s",
        suggestion.cover_days,
    ) % {
        "cover": suggestion.cover_days,
        "lead_time": lead_time,
        "safety": suggestion.safety_days,
        "review": suggestion.review_period_days,
    }


def suggestion_position(suggestion: Suggestion) -> int:
    """Stock position: available + incoming purchase orders + transfers in transit − backorders."""
    return suggestion.available + suggestion.incoming_purchase + suggestion.incoming_transfer - suggestion.backorders


def _quantity_line(suggestion: Suggestion) -> str:
    if suggestion.quantity <= 0:
        return _("Nothing to order: stock covers the demand")
    figures = {
        "quantity": suggestion.quantity,
        "need": number_text(suggestion.net_need),
        "moq": suggestion.minimum_order_quantity,
        "pack": suggestion.case_pack,
    }
    if suggestion.minimum_order_quantity <= 1 and suggestion.case_pack <= 1:
        return _("Quantity %(quantity)s = %(need)s rounded up to whole units") % figures
    return _("Quantity %(quantity)s = %(need)s rounded up to MOQ %(moq)s and case pack %(pack)s") % figures


def _date_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _order_by_line(suggestion: Suggestion) -> str | None:
    if suggestion.days_of_cover is None or _decimal(suggestion.ads) == 0:
        return _("No order-by date: nothing sold in the windows, so the stock does not run down")
    if suggestion.order_by is None:
        return None
    return _("Order by %(date)s: stock lasts %(cover)s days, less lead time %(lead)s and safety %(safety)s") % {
        "date": _date_text(suggestion.order_by),
        "cover": number_text(suggestion.days_of_cover),
        "lead": suggestion.lead_time_days,
        "safety": suggestion.safety_days,
    }


def suggestion_derivation(suggestion: Suggestion) -> list[str]:
    """How each number of ``suggestion`` was worked out, one sentence per step, from its stored figures: the
    average daily sales and each sales window, the days of cover, the demand over them, the stock position, the
    need, the quantity after MOQ and case pack, and the date to order by. A transfer's source is named (select the
    suggestion's ``source_warehouse`` with it)."""
    stored = suggestion.windows if isinstance(suggestion.windows, list) else []
    windows = [_window_figures(window) for window in stored]
    position = suggestion_position(suggestion)
    lines = [_ads_line(suggestion, windows), *(_window_line(figures) for figures in windows), _cover_line(suggestion)]
    lines.append(
        _("Demand %(demand)s = %(ads)s × %(cover)s")
        % {"demand": number_text(suggestion.demand), "ads": number_text(suggestion.ads), "cover": suggestion.cover_days}
    )
    lines.append(
        _(
            "Stock position %(position)s = available %(available)s + incoming purchase orders %(purchase)s"
            " + transfers in transit %(transfer)s − backorders %(backorders)s"
        )
        % {
            "position": number_text(position),
            "available": number_text(suggestion.available),
            "purchase": number_text(suggestion.incoming_purchase),
            "transfer": number_text(suggestion.incoming_transfer),
            "backorders": number_text(suggestion.backorders),
        }
    )
    lines.append(
        _("Need %(need)s = %(demand)s − %(position)s")
        % {
            "need": number_text(suggestion.net_need),
            "demand": number_text(suggestion.demand),
            "position": number_text(position),
        }
    )
    lines.append(_quantity_line(suggestion))
    if suggestion.kind == Suggestion.Kind.TRANSFER and suggestion.source_warehouse_id is not None:
        lines.append(
            _("Transferred from %(source)s, which replenishes this warehouse, not bought")
            % {"source": suggestion.source_warehouse.code}
        )
    order_by = _order_by_line(suggestion)
    if order_by is not None:
        lines.append(order_by)
    return lines


def suggestion_derivation_text(suggestion: Suggestion) -> str:
    """The derivation as one cell of an export: its lines joined by "; " (in Chinese "；")."""
    return clauses_join(suggestion_derivation(suggestion))


# --- The export row -------------------------------------------------------------------------------------------

SUGGESTION_EXPORT_COLUMNS = [
    "id",
    "warehouse",
    "sku",
    "product_name",
    "kind",
    "supplier",
    "supplier_sku",
    "source_warehouse",
    "ads",
    "production_days",
    "qc_days",
    "transit_days",
    "lead_time_days",
    "safety_days",
    "review_period_days",
    "cover_days",
    "demand",
    "available",
    "incoming_purchase",
    "incoming_transfer",
    "backorders",
    "position",
    "net_need",
    "minimum_order_quantity",
    "case_pack",
    "quantity",
    "days_of_cover",
    "order_by",
    "urgency",
    "status",
    "computed_at",
    "derivation",
]


def suggestion_export_row(suggestion: Suggestion) -> list[Any]:
    """The values of SUGGESTION_EXPORT_COLUMNS for one suggestion (select its product, warehouse, source warehouse
    and supplier product with its supplier)."""
    supplier_product = suggestion.supplier_product
    return [
        suggestion.pk,
        suggestion.warehouse.code,
        suggestion.product.sku,
        suggestion.product.name,
        suggestion.kind,
        supplier_product.supplier.name if supplier_product else "",
        supplier_product.supplier_sku if supplier_product else "",
        suggestion.source_warehouse.code if suggestion.source_warehouse_id else "",
        suggestion.ads,
        suggestion.production_days,
        suggestion.qc_days,
        suggestion.transit_days,
        suggestion.lead_time_days,
        suggestion.safety_days,
        suggestion.review_period_days,
        suggestion.cover_days,
        suggestion.demand,
        suggestion.available,
        suggestion.incoming_purchase,
        suggestion.incoming_transfer,
        suggestion.backorders,
        suggestion_position(suggestion),
        suggestion.net_need,
        suggestion.minimum_order_quantity,
        suggestion.case_pack,
        suggestion.quantity,
        suggestion.days_of_cover,
        suggestion.order_by.isoformat() if suggestion.order_by else "",
        suggestion.urgency,
        suggestion.status,
        timezone.localtime(suggestion.computed_at).isoformat() if suggestion.computed_at else "",
        suggestion_derivation_text(suggestion),
    ]

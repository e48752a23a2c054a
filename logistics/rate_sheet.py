"""A rate card's zones and brackets in a spreadsheet (CSV or XLSX), one row per weight bracket, and back.

    zone, countries, postcode_prefixes, max_weight_g, pricing, price_per_kg, first_weight_g, first_price,
    additional_unit_g, additional_price, registration_fee

A zone's countries (ISO codes separated by spaces or commas) and postcode prefixes are given on its first row and
may be repeated, saying the same. ``pricing`` is ``per_kg`` or ``first_additional`` (or their names, in English or
Chinese); empty means per kg. Headers are keys or the fields' names in either language. Importing replaces all of
the card's zones and brackets, or, if any row is wrong, changes nothing and lists every problem by row.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from core.errors import ErrorDetail, ValidationFailed
from core.sheets import (
    ROW_KEY,
    SheetColumn,
    SheetLayout,
    SheetSource,
    choice_by_text,
    header_key,
    sheet_open,
)
from core.spreadsheet import escape_formula
from logistics.models import RateBracket, RateCard, RateZone
from logistics.services import rate_card_zones_replace

_zone = RateZone._meta.get_field
_bracket = RateBracket._meta.get_field
COLUMNS = (
    ("zone", _zone("code"), True),
    ("countries", _zone("countries"), False),
    ("postcode_prefixes", _zone("postcode_prefixes"), False),
    ("max_weight_g", _bracket("max_weight_g"), True),
    ("pricing", _bracket("pricing"), False),
    ("price_per_kg", _bracket("price_per_kg"), False),
    ("first_weight_g", _bracket("first_weight_g"), False),
    ("first_price", _bracket("first_price"), False),
    ("additional_unit_g", _bracket("additional_unit_g"), False),
    ("additional_price", _bracket("additional_price"), False),
    ("registration_fee", _bracket("registration_fee"), False),
)
WHOLE_NUMBERS = {"max_weight_g", "first_weight_g", "additional_unit_g"}
AMOUNTS = {"price_per_kg", "first_price", "additional_price", "registration_fee"}
RATE_SHEET = SheetLayout(
    columns=tuple(
        SheetColumn(
            name=key, aliases=(field.verbose_name,), is_required=required, is_text=key not in WHOLE_NUMBERS | AMOUNTS
        )
        for key, field, required in COLUMNS
    ),
    max_rows=20_000,
)


# How rate sheets from carriers write the two pricings, besides their keys and their names in each language.
PRICING_ALIASES = {
    "per kg": RateBracket.Pricing.PER_KG,
    "kg": RateBracket.Pricing.PER_KG,
    "按重量": RateBracket.Pricing.PER_KG,
    "首重续重": RateBracket.Pricing.FIRST_ADDITIONAL,
    "首续重": RateBracket.Pricing.FIRST_ADDITIONAL,
    "first + additional": RateBracket.Pricing.FIRST_ADDITIONAL,
}


def _pricing_by_text() -> dict[str, str]:
    return choice_by_text(RateBracket.Pricing.choices, PRICING_ALIASES)


def _number(value: Any, key: str, row: int, errors: list[ErrorDetail]) -> Any:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        errors.append(ErrorDetail(_("Not a number: %(value)s.") % {"value": value}, field=key, row=row))
        return None
    if key in WHOLE_NUMBERS:
        if amount != amount.to_integral_value():
            errors.append(
                ErrorDetail(
                    _("Must be a whole number of grams (got %(value)s).") % {"value": value}, field=key, row=row
                )
            )
            return None
        return int(amount)
    return amount


def rate_card_import(*, card: RateCard, source: SheetSource) -> RateCard:
    """Replace the card's zones and brackets with the sheet's: all or nothing."""
    errors: list[ErrorDetail] = []
    pricings = _pricing_by_text()
    zones: dict[str, dict[str, Any]] = {}
    try:
        for row in sheet_open(source=source, layout=RATE_SHEET):
            number = row[ROW_KEY]
            code = str(row.get("zone") or "").strip().upper()
            if not code:
                errors.append(ErrorDetail(_("Missing."), field="zone", row=number, code="required"))
                continue
            zone = zones.setdefault(code, {"code": code, "row": number, "brackets": []})
            for key in ("countries", "postcode_prefixes"):
                if row.get(key):
                    if key in zone and zone[key] != row[key]:
                        errors.append(
                            ErrorDetail(
                                _("Differs from row %(row)s of zone %(zone)s.") % {"row": zone["row"], "zone": code},
                                field=key,
                                row=number,
                                code="inconsistent",
                            )
                        )
                    zone.setdefault(key, row[key])
            pricing = pricings.get(header_key(str(row.get("pricing") or "per_kg")))
            if pricing is None:
                errors.append(
                    ErrorDetail(
                        _("Not a pricing: %(value)s (per_kg or first_additional).") % {"value": row.get("pricing")},
                        field="pricing",
                        row=number,
                    )
                )
            bracket: dict[str, Any] = {"row": number, "pricing": pricing or RateBracket.Pricing.PER_KG}
            for key in WHOLE_NUMBERS | AMOUNTS:
                bracket[key] = _number(row.get(key), key, number, errors)
            zone["brackets"].append(bracket)
    except ValidationFailed as failed:
        raise ValidationFailed.listing(_("The file"), [*failed.errors, *errors]) from None
    if errors:
        raise ValidationFailed.listing(_("The file"), errors)
    if not zones:
        raise ValidationFailed(
            _("The file has no rows."), errors=[ErrorDetail(_("The file has no rows."), field="file")]
        )
    try:
        return rate_card_zones_replace(card=card, zones=list(zones.values()))
    except ValidationFailed as failed:
        # Name the columns as the sheet does: "zones[0].brackets[2].price_per_kg" is the column price_per_kg.
        raise ValidationFailed.listing(
            _("The file"),
            [
                ErrorDetail(detail.message, field=detail.field.rsplit(".", 1)[-1], row=detail.row, code=detail.code)
                for detail in failed.errors
            ],
        ) from None


def rate_card_csv(card: RateCard) -> str:
    """The card's zones and brackets as the import reads them (keys as headers), with a BOM for Excel."""
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow([key for key, _field, _required in COLUMNS])
    for zone in card.zones.order_by("code").prefetch_related("brackets"):
        for index, bracket in enumerate(zone.brackets.order_by("max_weight_g")):
            values = {
                "zone": zone.code,
                "countries": " ".join(zone.countries) if index == 0 else "",
                "postcode_prefixes": " ".join(zone.postcode_prefixes) if index == 0 else "",
                **{key: getattr(bracket, key) for key in ("max_weight_g", "pricing", *(WHOLE_NUMBERS | AMOUNTS))},
            }
            writer.writerow(
                ["" if values.get(key) is None else escape_formula(_plain(values[key])) for key, *_rest in COLUMNS]
            )
    return "\ufeff" + stream.getvalue()


def _plain(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)

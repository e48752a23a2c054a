"""Errors of the stock services, carrying what a person needs to act on them."""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.errors import Conflict, ErrorDetail


def shortage_line(*, sku: str, requested: int, available: int, where: str) -> str:
    """One short line as an error names it ("CASE-1: asked for 3, 2 available in bin A-01-01-01.")."""
    return _("%(sku)s: asked for %(requested)s, %(available)s available in %(where)s.") % {
        "sku": sku,
        "requested": requested,
        "available": available,
        "where": where,
    }


def shortages_listed(shortages: list[dict]) -> str:
    """Short lines one after the other, each with what is there of what was asked ("CASE-1 (2 of 3), ...")."""
    return ", ".join(
        _("%(sku)s (%(available)s of %(requested)s)")
        % {"sku": shortage["sku"], "available": shortage["available"], "requested": shortage["requested"]}
        for shortage in shortages
    )


class InsufficientStock(Conflict):
    """Asked for more than is there: says what was asked, what is there, and where.

    ``where`` is already in words, in the active language ("bin A-01-01-01", "warehouse SZ").
    """

    default_code = "insufficient_stock"

    def __init__(self, *, sku: str, requested: int, available: int, where: str) -> None:
        super().__init__(
            _("Not enough %(sku)s in %(where)s: asked for %(requested)s, %(available)s available.")
            % {"sku": sku, "where": where, "requested": requested, "available": available},
            errors=[
                ErrorDetail(
                    shortage_line(sku=sku, requested=requested, available=available, where=where),
                    code="insufficient_stock",
                    field="quantity",
                )
            ],
            sku=sku,
            requested=requested,
            available=available,
            where=where,
        )

    @classmethod
    def for_many(cls, shortages: list[dict]) -> InsufficientStock:
        """One error for every short line of a multi-line request."""
        first = shortages[0]
        error = cls(
            sku=first["sku"],
            requested=first["requested"],
            available=first["available"],
            where=_("warehouse %(code)s") % {"code": first["warehouse"]},
        )
        error.errors = [
            ErrorDetail(
                shortage_line(
                    sku=s["sku"],
                    requested=s["requested"],
                    available=s["available"],
                    where=_("warehouse %(code)s") % {"code": s["warehouse"]},
                ),
                code="insufficient_stock",
                field="lines",
            )
            for s in shortages
        ]
        if len(shortages) > 1:
            error.message = _("Not enough stock for %(count)s products: %(shortages)s") % {
                "count": len(shortages),
                "shortages": shortages_listed(shortages),
            }
        error.context["shortages"] = shortages
        return error


class StockRuleBroken(Conflict):
    """A stock write would break a rule (reserved stock uncovered, picking more than reserved, ...)."""

    default_code = "stock_rule"

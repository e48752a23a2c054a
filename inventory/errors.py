"""Errors of the stock services, carrying what a person needs to act on them."""

from __future__ import annotations

from core.errors import Conflict, ErrorDetail


class InsufficientStock(Conflict):
    """Asked for more than is there: says what was asked, what is there, and where."""

    default_code = "insufficient_stock"

    def __init__(self, *, sku: str, requested: int, available: int, where: str) -> None:
        super().__init__(
            f"Not enough {sku} in {where}: asked for {requested}, {available} available.",
            errors=[
                ErrorDetail(
                    f"{sku}: asked for {requested}, {available} available in {where}.",
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
            where=f"warehouse {first['warehouse']}",
        )
        error.errors = [
            ErrorDetail(
                f"{s['sku']}: asked for {s['requested']}, {s['available']} available in warehouse {s['warehouse']}.",
                code="insufficient_stock",
                field="lines",
            )
            for s in shortages
        ]
        if len(shortages) > 1:
            error.message = f"Not enough stock for {len(shortages)} products: " + ", ".join(
                f"{s['sku']} ({s['available']} of {s['requested']})" for s in shortages
            )
        error.context["shortages"] = shortages
        return error


class StockRuleBroken(Conflict):
    """A stock write would break a rule (reserved stock uncovered, picking more than reserved, ...)."""

    default_code = "stock_rule"

"""Upper bounds on what a request may ask for, so no number or shape from outside can overflow or exhaust anything.

Quantities are counted in PostgreSQL ``integer`` columns (at most 2,147,483,647). A quantity on one line of a
document (a receipt, a transfer line, a count, a reservation) is at most ``QUANTITY_MAX``; what one bin or one
warehouse holds of a product is at most ``STOCK_MAX``. Both are far above anything a seller handles and far
below the column's limit, so sums of many lines cannot overflow before a rule refuses them with a clear error.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from core.errors import ErrorDetail, ValidationFailed, labelled

# Units on one line of one document: ten million.
QUANTITY_MAX = 10_000_000
# Units of one product in one bin, in one warehouse, or promised to one reference: a thousand million.
STOCK_MAX = 1_000_000_000
# Nesting of a JSON body: the deepest payload of the API is four levels; 32 leaves room and stops abuse.
JSON_MAX_DEPTH = 32
# Characters in one text value of a spreadsheet cell: Excel's own limit.
CELL_MAX_LENGTH = 32_767


def quantity_problem(
    value: Any, *, field: str = "quantity", minimum: int = 1, maximum: int = QUANTITY_MAX
) -> ErrorDetail | None:
    """What is wrong with ``value`` as a quantity (a whole number within [minimum, maximum]), or None.

    The one rule of a quantity given to a service, so every door refuses the same values with the same code:
    ``invalid`` (not a whole number), ``min_value`` or ``max_value``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        return ErrorDetail(
            _("Must be a whole number (got %(value)s).") % {"value": repr(value)}, field=field, code="invalid"
        )
    if value < minimum:
        return ErrorDetail(
            _("Must be at least %(minimum)s (got %(value)s).") % {"minimum": minimum, "value": value},
            field=field,
            code="min_value",
        )
    if value > maximum:
        return ErrorDetail(
            _("Must be at most %(maximum)s (got %(value)s).") % {"maximum": f"{maximum:,}", "value": f"{value:,}"},
            field=field,
            code="max_value",
        )
    return None


def quantity_check(value: Any, *, field: str = "quantity", minimum: int = 1, maximum: int = QUANTITY_MAX) -> int:
    """``value`` if it is a whole number within [minimum, maximum]; otherwise ValidationFailed naming ``field``."""
    detail = quantity_problem(value, field=field, minimum=minimum, maximum=maximum)
    if detail is not None:
        raise ValidationFailed(labelled(field, detail.message), errors=[detail])
    return value

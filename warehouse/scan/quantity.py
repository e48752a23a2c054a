"""Many units in one scan, on the pages where each item scan is one unit (pick, receive, put away, count, move): a
number typed on the scanner's keypad and Enter. Before an item scan it is how many that scan takes; right after
one, how many that scan was in all (the count page reads it as how many of the item the bin holds). Up to four
digits: a longer number is a barcode."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from django.utils.translation import gettext as _

from core.errors import DomainError, ValidationFailed
from warehouse.scan.views import ScanView
from warehouse.scans import ScanDone

QUANTITY = re.compile(r"^[0-9]{1,4}$")  # at most 9999 (the services' MOST_AT_ONCE); longer digits are a barcode
# The command that drops a number entered (Esc), as typed or on a card; any case.
CANCEL = "CANCEL"
# Refusals of the number itself, not of the item: the number is dropped, to be entered again. Any other refusal (a
# wrong item) keeps it for the right item.
QUANTITY_REFUSALS = frozenset(
    {"quantity", "too_many", "invalid_quantity", "insufficient_stock", "exceeds_in_transit", "over_receipt"}
)

Result = TypeVar("Result")


def quantity_read(code: str) -> int | None:
    """The number a scan says when it was typed on the keypad (up to four digits), else None: a barcode."""
    return int(code) if QUANTITY.match(code) else None


class QuantityPage(ScanView):
    """A page whose item scans take one unit, or the number entered before (``quantity`` in the page's memory).
    The page keeps what it needs of the last item scan done in ``last``, for a number right after it."""

    def taking(self) -> int:
        return self.memory().get("quantity") or 1

    def units_take(self, take: Callable[[int], Result]) -> Result:
        """Run ``take`` (the item scan's service) with the units this scan takes: the number entered is used up when
        it is done, dropped when the refusal is about it, and kept when the item was wrong."""
        self.remember(last=None)  # a number after a refused scan is no count of it
        try:
            done = take(self.taking())
        except DomainError as refused:
            if {refused.code, *(detail.code for detail in refused.errors)} & QUANTITY_REFUSALS:
                self.remember(quantity=None)
            raise
        self.remember(quantity=None)
        return done

    def quantity_ahead(self, quantity: int, *, reference: str = "") -> ScanDone:
        """A number before an item scan: how many the next one takes."""
        if quantity < 1:
            raise ValidationFailed(_("Enter a quantity of 1 or more."), code="invalid_quantity")
        self.remember(quantity=quantity)
        return ScanDone(_("The next scan takes %(quantity)s.") % {"quantity": quantity}, reference=reference)

    @staticmethod
    def quantity_more(quantity: int, units: int) -> int:
        """A number right after an item scan that took ``units``: that scan was ``quantity`` in all. How many more
        to take (0: as scanned); fewer than taken is refused (nothing is taken back)."""
        if quantity < units:
            raise ValidationFailed(
                _("That scan took %(units)s already: scan the next item.") % {"units": units},
                code="quantity_below_scanned",
            )
        return quantity - units

    def quantity_cancel(self, *, reference: str = "") -> ScanDone:
        self.remember(quantity=None)
        return ScanDone(_("Number dropped: the next scan takes 1."), reference=reference)

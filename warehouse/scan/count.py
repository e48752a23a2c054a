"""Count (盘点) a bin on the floor: scan the bin (the open count that covers it takes the result), then each item in
it: one unit a scan; the page keeps the bin's tally per SKU. DONE (F2) records the tally in the count; EMPTY (F3)
records the bin empty; CLEAR (F4) drops the tally to count the bin again. Another bin is refused while a tally is
open: DONE or CLEAR first, so nothing counted is lost or recorded against the wrong bin.

Many units at once: a number and Enter before an item scan is how many it counts; right after one, how many of that
item the bin holds in all, which also corrects a tally (scan the item, then the right number). CANCEL (Esc) drops a
number entered. The tally is kept for this person's session until DONE: nothing is recorded before.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import Conflict, NotFound
from inventory.models import Bin, Product, StockCount, StockCountLine
from warehouse.floor_stock import bin_scanned, count_for_bin, count_submit
from warehouse.models import ScanEvent
from warehouse.picking import product_by_scan
from warehouse.scan.pages import floor_page
from warehouse.scan.quantity import CANCEL, QuantityPage, quantity_read
from warehouse.scan_selectors import scans_recent
from warehouse.scans import ScanAnswer, ScanDone

STEP = ScanEvent.Step.COUNT
# Commands, as printed on command cards or typed, in any case; buttons send them too.
DONE = "DONE"
EMPTY = "EMPTY"
CLEAR = "CLEAR"
# count_submit's "the bin is empty": a product id no product has.
EMPTY_BIN = 0


class CountView(QuantityPage):
    template_name = "scan/count.html"
    state_template_name = "scan/count_state.html"
    permissions = floor_page(STEP).permissions
    step = STEP
    memory_key = "scan_count"
    prompt = gettext_lazy("Scan a bin, then each item in it, then DONE.")

    def prepare(self) -> None:
        kept = self.memory()
        self.count = self.bin = None
        if kept.get("count") and kept.get("bin"):
            self.count = StockCount.objects.filter(pk=kept["count"], warehouse=self.warehouse).first()
            self.bin = Bin.objects.filter(pk=kept["bin"], warehouse=self.warehouse).first()
            if self.count is None or self.bin is None:
                self.count = self.bin = None
        return None

    def tally(self) -> dict[int, int]:
        """What was counted in the bin so far, product by product (the session keeps the keys as text)."""
        return {int(product_id): units for product_id, units in (self.memory().get("tally") or {}).items()}

    def tally_keep(self, tally: dict[int, int]) -> None:
        self.remember(tally={str(product_id): units for product_id, units in tally.items()})

    def reference(self) -> str:
        return self.count.number if self.count is not None else ""

    def scan(self, code: str) -> ScanAnswer:
        return self.record(code, do=self._route(code), reference=self.reference())

    def _route(self, code: str) -> Callable[[], ScanDone]:
        """What the scan is: a command, the bin (or another), a number or an item."""
        command = code.upper()
        if self.bin is None:
            return partial(self._bin, code) if command not in (DONE, EMPTY, CLEAR, CANCEL) else self._bin_first
        if command == CANCEL:
            return partial(self.quantity_cancel, reference=self.count.number)
        if command == DONE:
            return self._done
        if command == EMPTY:
            return self._empty
        if command == CLEAR:
            return self._clear
        quantity = quantity_read(code)
        if quantity is not None:
            return partial(self._quantity, quantity)
        product = product_by_scan(code)
        if product is not None:
            return partial(self._item, product)
        return partial(self._bin, code)

    # --- the bin -------------------------------------------------------------------------------------------------

    def _bin_first(self) -> ScanDone:
        raise Conflict(_("Scan the bin you count first."), code="bin_first")

    def _bin(self, code: str) -> ScanDone:
        if self.bin is not None:
            try:
                scanned = bin_scanned(self.warehouse, code)
            except NotFound:
                raise NotFound(
                    _("No product or bin has the code %(code)s.") % {"code": code}, code="unknown_code", scan=code
                ) from None
            if scanned.pk == self.bin.pk:
                return ScanDone(
                    _("You are counting %(bin)s: scan what is in it, then DONE.") % {"bin": self.bin.code},
                    reference=self.count.number,
                )
            if self.tally():
                raise Conflict(
                    _(
                        "%(bin)s is not submitted yet (%(units)s counted): DONE records it, CLEAR drops it. Then scan "
                        "the next bin."
                    )
                    % {"bin": self.bin.code, "units": sum(self.tally().values())},
                    code="tally_open",
                    scan=code,
                )
        count, bin_ = count_for_bin(warehouse=self.warehouse, code=code)
        self.count, self.bin = count, bin_
        self.remember(count=count.pk, bin=bin_.pk, tally={}, quantity=None, last=None)
        return ScanDone(
            _("Count %(count)s, bin %(bin)s: scan each item in it, then DONE (or EMPTY).")
            % {"count": count.number, "bin": bin_.code},
            reference=count.number,
        )

    # --- items ---------------------------------------------------------------------------------------------------

    def _item(self, product: Product) -> ScanDone:
        units = self.units_take(lambda units: units)
        tally = self.tally()
        tally[product.pk] = tally.get(product.pk, 0) + units
        self.tally_keep(tally)
        self.remember(last={"product": product.pk})
        return ScanDone(
            _("%(sku)s: %(counted)s counted.") % {"sku": product.sku, "counted": tally[product.pk]},
            reference=self.count.number,
            quantity=units,
        )

    def _quantity(self, quantity: int) -> ScanDone:
        """A number: right after an item scan, how many of it the bin holds in all (a tally corrected too); else how
        many the next item scan counts."""
        last = self.memory().get("last")
        if not last:
            return self.quantity_ahead(quantity, reference=self.count.number)
        self.remember(last=None)
        tally = self.tally()
        product = Product.objects.get(pk=last["product"])
        change = quantity - tally.get(product.pk, 0)
        tally[product.pk] = quantity
        self.tally_keep(tally)
        return ScanDone(
            _("%(sku)s: %(counted)s in all.") % {"sku": product.sku, "counted": quantity},
            reference=self.count.number,
            quantity=change,
        )

    # --- submitting ----------------------------------------------------------------------------------------------

    def _done(self) -> ScanDone:
        tally = self.tally()
        count_submit(count=self.count, bin=self.bin, counted=tally, user=self.request.user)
        units = sum(tally.values())
        message = _("%(bin)s recorded in %(count)s (%(units)s counted). Scan the next bin.") % {
            "bin": self.bin.code,
            "count": self.count.number,
            "units": units,
        }
        return self._submitted(message, units)

    def _empty(self) -> ScanDone:
        """The bin holds nothing: each product the count has in it is recorded as 0 (count_submit records nothing
        for its "empty bin" key alone, which is kept for a bin the count expects nothing in)."""
        if self.tally():
            raise Conflict(
                _("%(bin)s has items counted: CLEAR drops them before EMPTY, or DONE records them.")
                % {"bin": self.bin.code},
                code="tally_open",
            )
        expected = StockCountLine.objects.filter(count=self.count, bin=self.bin).values_list("product_id", flat=True)
        counted = dict.fromkeys(expected, 0) or {EMPTY_BIN: 0}
        count_submit(count=self.count, bin=self.bin, counted=counted, user=self.request.user)
        message = _("%(bin)s recorded empty in %(count)s. Scan the next bin.") % {
            "bin": self.bin.code,
            "count": self.count.number,
        }
        return self._submitted(message, 0)

    def _submitted(self, message: str, units: int) -> ScanDone:
        number = self.count.number
        self.remember(count=None, bin=None, tally={}, quantity=None, last=None, submitted=number)
        self.count = self.bin = None
        return ScanDone(message, reference=number, quantity=units)

    def _clear(self) -> ScanDone:
        self.remember(tally={}, quantity=None, last=None)
        return ScanDone(
            _("Tally of %(bin)s dropped: count it again.") % {"bin": self.bin.code}, reference=self.count.number
        )

    # --- the page ------------------------------------------------------------------------------------------------

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "done": DONE,
            "empty": EMPTY,
            "clear": CLEAR,
            "command_cards": [DONE, EMPTY, CLEAR],
        }

    def state_context(self) -> dict:
        kept = self.memory()
        number = self.count.number if self.count is not None else kept.get("submitted")
        state = {
            "scans": scans_recent(warehouse=self.warehouse, step=STEP, reference=number) if number else [],
            "taking": kept.get("quantity"),
            "cancel": CANCEL,
        }
        if self.count is None:
            return state
        tally = self.tally()
        # Expected quantities only when the count is not blind (a blind count hides them from counters).
        expected = (
            {}
            if self.count.is_blind
            else dict(
                StockCountLine.objects.filter(count=self.count, bin=self.bin).values_list(
                    "product_id", "expected_quantity"
                )
            )
        )
        products = Product.objects.filter(pk__in=set(tally) | set(expected)).order_by("sku")
        return {
            **state,
            "count": self.count,
            "bin": self.bin,
            "blind": self.count.is_blind,
            "items": [
                {
                    "sku": product.sku,
                    "name": product.name,
                    "counted": tally.get(product.pk, 0),
                    "expected": expected.get(product.pk),
                }
                for product in products
            ],
            "units": sum(tally.values()),
        }

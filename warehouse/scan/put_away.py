"""Put away (上架) on the floor: scan an item waiting in the receiving area (or a put-back task's tote); the page shows
the suggested bin big (where the SKU already lives, else an empty pick face; or none: any storage bin) and how many
wait. Scan the bin, the suggested one or another storage bin: the item in hand goes in. Then each item scanned goes
into that bin, one unit a scan, until another bin or another item is scanned.

Many units at once, as on the pick page: a number and Enter before the scan that puts (the bin, or an item at the
bin) is how many it puts; right after it, how many that scan was in all. One unit a scan by default, not everything
waiting: what goes into the bin is what was counted into it. CANCEL (Esc) drops a number entered.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import Conflict, NotFound
from inventory.models import Bin, Product
from warehouse.floor_stock import PutAwayStart, bin_scanned, product_scanned, putaway_start, putaway_to
from warehouse.models import ScanEvent
from warehouse.picking import product_by_scan
from warehouse.scan.pages import floor_page
from warehouse.scan.quantity import CANCEL, QuantityPage, quantity_read
from warehouse.scan_selectors import scans_recent
from warehouse.scans import ScanAnswer, ScanDone

STEP = ScanEvent.Step.PUT_AWAY


class PutAwayView(QuantityPage):
    template_name = "scan/put_away.html"
    state_template_name = "scan/put_away_state.html"
    permissions = floor_page(STEP).permissions
    step = STEP
    memory_key = "scan_put_away"
    prompt = gettext_lazy("Scan an item from the receiving area, then the bin it goes to.")

    def prepare(self) -> None:
        # The item's start is asked again at every scan: what waits, and where it should go, changes as it goes.
        self.start: PutAwayStart | None = None
        return None

    def started(self) -> PutAwayStart | None:
        """What waits of the item scanned last, or None (no item, or nothing of it waits any more)."""
        code = self.memory().get("item")
        if not code:
            return None
        if self.start is None:
            try:
                self.start = putaway_start(warehouse=self.warehouse, code=code)
            except (Conflict, NotFound):
                return None
        return self.start

    def reference(self) -> str:
        start = self.started()
        return start.product.sku if start is not None else ""

    def scan(self, code: str) -> ScanAnswer:
        return self.record(code, do=self._route(code), reference=self.reference())

    def _route(self, code: str) -> Callable[[], ScanDone]:
        """What the scan is: a command, a number, an item (the one in hand again, or another) or a bin."""
        if code.upper() == CANCEL:
            return partial(self.quantity_cancel, reference=self.reference())
        quantity = quantity_read(code)
        if quantity is not None:
            return partial(self._quantity, quantity)
        product = product_by_scan(code)
        if product is not None:
            return partial(self._item, code, product)
        if self.started() is None:
            return partial(self._item_first, code)
        return partial(self._bin, code)

    # --- the item ------------------------------------------------------------------------------------------------

    def _item(self, code: str, product: Product) -> ScanDone:
        start = self.started()
        kept = self.memory()
        if start is not None and start.product.pk == product.pk and kept.get("bin"):
            return self._put(kept["bin"])  # at the bin: each item scanned goes in
        start = putaway_start(warehouse=self.warehouse, code=code)  # refused: the item in hand stays
        self.start = start
        self.remember(item=code, sku=start.product.sku, bin=None, last=None)
        figures = {"sku": start.product.sku, "available": start.available, "from": start.from_bin.code}
        if start.suggested is None:
            message = _("%(sku)s: %(available)s waiting in %(from)s. No suggestion: scan any storage bin.") % figures
        else:
            message = _("%(sku)s: %(available)s waiting in %(from)s. Put it in %(bin)s.") % {
                **figures,
                "bin": start.suggested.code,
            }
        return ScanDone(message, reference=start.product.sku)

    def _item_first(self, code: str) -> ScanDone:
        try:
            bin_scanned(self.warehouse, code)
        except NotFound:
            product_scanned(code)  # neither a bin nor a product: refused, as no product has that code
        raise Conflict(_("Scan the item first, then the bin it goes to."), code="item_first", scan=code)

    # --- the bin -------------------------------------------------------------------------------------------------

    def _bin(self, code: str) -> ScanDone:
        return self._put(code)

    def _put(self, bin_code: str) -> ScanDone:
        start = self.started()
        moved = self.units_take(
            lambda units: putaway_to(start=start, bin_code=bin_code, quantity=units, user=self.request.user)
        )
        self.remember(bin=moved.to_bin.code, last={"bin": moved.to_bin.code, "units": moved.quantity})
        return self._done(start, moved.to_bin, moved.quantity)

    def _quantity(self, quantity: int) -> ScanDone:
        """A number: how many the last put was in all (right after it), else how many the next put takes."""
        last = self.memory().get("last")
        start = self.started()
        if not last or start is None:
            return self.quantity_ahead(quantity, reference=self.reference())
        self.remember(last=None)
        more = self.quantity_more(quantity, last["units"])
        if not more:
            return ScanDone(
                _("%(quantity)s × %(sku)s, as scanned.") % {"quantity": quantity, "sku": start.product.sku},
                reference=start.product.sku,
            )
        moved = putaway_to(start=start, bin_code=last["bin"], quantity=more, user=self.request.user)
        return self._done(start, moved.to_bin, moved.quantity)

    def _done(self, start: PutAwayStart, into: Bin, units: int) -> ScanDone:
        figures = {"quantity": units, "sku": start.product.sku, "bin": into.code}
        if start.suggested is None or start.suggested.pk == into.pk:
            done = _("%(quantity)s × %(sku)s into %(bin)s.") % figures
        else:
            done = _("%(quantity)s × %(sku)s into %(bin)s (not the suggested %(suggested)s).") % {
                **figures,
                "suggested": start.suggested.code,
            }
        self.start = None
        following = self.started()
        if following is None:
            self.remember(item=None, bin=None, last=None)
            message = _("%(done)s Every %(sku)s is put away.") % {"done": done, "sku": start.product.sku}
        else:
            message = _("%(done)s %(left)s to go.") % {"done": done, "left": following.available}
        return ScanDone(message, reference=start.product.sku, quantity=units)

    # --- the page ------------------------------------------------------------------------------------------------

    def state_context(self) -> dict:
        kept = self.memory()
        start = self.started()
        sku = start.product.sku if start is not None else kept.get("sku")
        return {
            "start": start,
            "at_bin": kept.get("bin") or "",
            "taking": kept.get("quantity"),
            "cancel": CANCEL,
            "scans": scans_recent(warehouse=self.warehouse, step=STEP, reference=sku) if sku else [],
        }

"""Move (移库) items bin to bin on the floor: scan the bin they come from, then each item taken (one unit a scan; one
SKU or several), then the bin they go to: they move, all of them or none. Not enough in the bin, the same bin and
an unknown bin are refused; what is in hand stays, to scan the right bin, or CLEAR (F4) to start again.

Many units at once, as on the pick page: a number and Enter before an item scan is how many it takes; right after
one, how many that scan was in all. CANCEL (Esc) drops a number entered.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import Conflict, words_join
from inventory.models import Bin, Product, StockMove
from warehouse.floor_stock import bin_scanned, move_items
from warehouse.models import ScanEvent
from warehouse.picking import product_by_scan
from warehouse.scan.pages import floor_page
from warehouse.scan.quantity import CANCEL, QuantityPage, quantity_read
from warehouse.scan_selectors import scans_recent
from warehouse.scans import ScanAnswer, ScanDone

STEP = ScanEvent.Step.MOVE
# The command that drops what is in hand and the bin it came from, as typed or on a card; any case.
CLEAR = "CLEAR"


class MoveView(QuantityPage):
    template_name = "scan/move.html"
    state_template_name = "scan/move_state.html"
    permissions = floor_page(STEP).permissions
    step = STEP
    memory_key = "scan_move"
    prompt = gettext_lazy("Scan the bin, each item you take, then the bin they go to.")

    def prepare(self) -> None:
        from_id = self.memory().get("from_bin")
        self.from_bin = Bin.objects.filter(pk=from_id, warehouse=self.warehouse).first() if from_id else None
        return None

    def carried(self) -> dict[int, int]:
        """What is in hand, product by product, in the order taken (the session keeps the keys as text)."""
        return {int(product_id): units for product_id, units in (self.memory().get("carried") or {}).items()}

    def carried_keep(self, carried: dict[int, int]) -> None:
        self.remember(carried={str(product_id): units for product_id, units in carried.items()})

    def reference(self) -> str:
        return self.from_bin.code if self.from_bin is not None else ""

    def scan(self, code: str) -> ScanAnswer:
        return self.record(code, do=self._route(code), reference=self.reference())

    def _route(self, code: str) -> Callable[[], ScanDone]:
        """What the scan is: a command, a number, the bin taken from, an item, or the bin it all goes to."""
        command = code.upper()
        if command == CANCEL:
            return partial(self.quantity_cancel, reference=self.reference())
        if command == CLEAR:
            return self._clear
        quantity = quantity_read(code)
        if quantity is not None:
            return partial(self._quantity, quantity)
        product = product_by_scan(code)
        if self.from_bin is None:
            return partial(self._from, code, product)
        if product is not None:
            return partial(self._item, code, product)
        if not self.carried():
            return partial(self._from, code, None)  # nothing taken yet: another bin to take from
        return partial(self._to, code)

    # --- from ----------------------------------------------------------------------------------------------------

    def _from(self, code: str, product: Product | None) -> ScanDone:
        if product is not None:
            raise Conflict(
                _("Scan the bin you take %(sku)s from first, then the items.") % {"sku": product.sku},
                code="bin_first",
                scan=code,
            )
        from_bin = bin_scanned(self.warehouse, code)
        self.from_bin = from_bin
        self.remember(from_bin=from_bin.pk, carried={}, last=None)
        return ScanDone(
            _("From %(bin)s: scan each item you take, then the bin they go to.") % {"bin": from_bin.code},
            reference=from_bin.code,
        )

    # --- items ---------------------------------------------------------------------------------------------------

    def _item(self, code: str, product: Product) -> ScanDone:
        units = self.units_take(lambda units: units)
        self.remember(last={"product": product.pk, "units": units})
        return self._taken(product, units)

    def _quantity(self, quantity: int) -> ScanDone:
        """A number: how many the last item scan was in all (right after it), else how many the next one takes."""
        last = self.memory().get("last")
        if not last:
            if self.from_bin is None:
                raise Conflict(_("Scan the bin you take from first, then the quantity."), code="bin_first")
            return self.quantity_ahead(quantity, reference=self.from_bin.code)
        self.remember(last=None)
        more = self.quantity_more(quantity, last["units"])
        product = Product.objects.get(pk=last["product"])
        if not more:
            return ScanDone(
                _("%(quantity)s × %(sku)s, as scanned.") % {"quantity": quantity, "sku": product.sku},
                reference=self.from_bin.code,
            )
        return self._taken(product, more)

    def _taken(self, product: Product, units: int) -> ScanDone:
        carried = self.carried()
        carried[product.pk] = carried.get(product.pk, 0) + units
        self.carried_keep(carried)
        return ScanDone(
            _("%(sku)s from %(bin)s: %(carried)s in hand. Scan more, or the bin they go to.")
            % {"sku": product.sku, "bin": self.from_bin.code, "carried": carried[product.pk]},
            reference=self.from_bin.code,
            quantity=units,
        )

    # --- to ------------------------------------------------------------------------------------------------------

    def _to(self, code: str) -> ScanDone:
        carried = self.carried()
        products = Product.objects.in_bulk(list(carried))
        with transaction.atomic():  # every SKU in hand moves, or none
            moves: list[StockMove] = [
                move_items(
                    warehouse=self.warehouse,
                    from_code=self.from_bin.code,
                    product_code=products[product_id].sku,
                    quantity=units,
                    to_code=code,
                    user=self.request.user,
                )
                for product_id, units in carried.items()
            ]
        into = moves[0].to_bin
        moved = words_join(f"{move.quantity} × {products[move.product_id].sku}" for move in moves)
        from_code = self.from_bin.code
        self.from_bin = None
        self.remember(from_bin=None, carried={}, quantity=None, last=None, moved=from_code)
        return ScanDone(
            _("Moved %(moved)s from %(from)s to %(to)s. Scan the next bin to take from.")
            % {"moved": moved, "from": from_code, "to": into.code},
            reference=from_code,
            quantity=sum(move.quantity for move in moves),
        )

    def _clear(self) -> ScanDone:
        reference = self.reference()
        self.from_bin = None
        self.remember(from_bin=None, carried={}, quantity=None, last=None)
        return ScanDone(_("Nothing in hand: scan the bin you take from."), reference=reference)

    # --- the page ------------------------------------------------------------------------------------------------

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "clear": CLEAR}

    def state_context(self) -> dict:
        kept = self.memory()
        carried = self.carried()
        products = Product.objects.in_bulk(list(carried))
        reference = self.from_bin.code if self.from_bin is not None else kept.get("moved")
        return {
            "from_bin": self.from_bin,
            "carried": [
                {"sku": products[product_id].sku, "name": products[product_id].name, "units": units}
                for product_id, units in carried.items()
                if product_id in products
            ],
            "units": sum(carried.values()),
            "taking": kept.get("quantity"),
            "cancel": CANCEL,
            "scans": scans_recent(warehouse=self.warehouse, step=STEP, reference=reference) if reference else [],
        }

"""Stock work on the floor, scan by scan: receiving a transfer or a purchase order (accepted into the receiving
area, or rejected at QC into quarantine with a reason), putting away (the suggested bin: where the SKU already
lives, else an empty pick face), counting a bin into the open count that covers it, and moving items bin to bin.
Every write goes through the inventory and purchasing services; these only find what a scan means and refuse what
must not happen, naming it.

Receiving is against a transfer from another warehouse or a purchase order from a supplier; a purchase order's
scans go into its receipt of the day (purchasing.receiving), with its over-receipt tolerance and landed cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from core.errors import Conflict, NotFound, ValidationFailed
from inventory.count_services import stock_count_record
from inventory.models import Bin, Product, StockCount, StockCountBin, StockLevel, StockMove, Transfer, Warehouse
from inventory.services import area_bin
from inventory.stock_services import stock_move
from inventory.transfer_services import transfer_receive
from purchasing.models import PurchaseOrder
from purchasing.orders import RECEIVABLE_STATUSES
from purchasing.receiving import receipt_scan
from warehouse.models import PutBackTask
from warehouse.picking import product_by_scan

STORAGE = (Bin.Kind.PICK, Bin.Kind.BULK)
MOST_AT_ONCE = 9999


def product_scanned(code: str) -> Product:
    product = product_by_scan(code)
    if product is None:
        raise NotFound(_("No product has the code %(code)s.") % {"code": code}, code="unknown_product", scan=code)
    return product


def bin_scanned(warehouse: Warehouse, code: str) -> Bin:
    found = Bin.objects.filter(warehouse=warehouse, code=(code or "").strip().upper(), is_active=True).first()
    if found is None:
        raise NotFound(
            _("No bin %(code)s in %(warehouse)s.") % {"code": code, "warehouse": warehouse.code},
            code="unknown_bin",
            scan=code,
        )
    return found


def _quantity(quantity: int) -> int:
    if not 1 <= quantity <= MOST_AT_ONCE:
        raise ValidationFailed(_("Enter a quantity from 1 to %(most)s.") % {"most": MOST_AT_ONCE}, code="quantity")
    return quantity


# --- Receiving ---------------------------------------------------------------------------------------------------

# What the receive page receives against: a transfer from another warehouse (TR-…) or a purchase order (PO-…).
Inbound = Transfer | PurchaseOrder


@dataclass(frozen=True)
class InboundLine:
    """One line of the document as the page shows it: received of what is expected."""

    product: Product
    received: int
    expected: int
    rejected: int = 0

    @property
    def complete(self) -> bool:
        return self.received >= self.expected


def receive_open(*, warehouse: Warehouse, code: str) -> Inbound:
    """The transfer or purchase order whose number was scanned, to be received in this warehouse."""
    number = (code or "").strip().upper()
    if number.startswith("PO-"):
        return _purchase_order_open(warehouse, number, code)
    transfer = Transfer.objects.filter(number=number).first()
    if transfer is None:
        raise NotFound(_("No transfer %(code)s.") % {"code": code}, code="unknown_document", scan=code)
    if transfer.destination_id != warehouse.pk:
        raise Conflict(
            _("Transfer %(number)s goes to %(warehouse)s, not here.")
            % {"number": transfer.number, "warehouse": transfer.destination.code},
            code="other_warehouse",
            scan=code,
        )
    if transfer.status not in (Transfer.Status.SHIPPED, Transfer.Status.PARTIALLY_RECEIVED):
        raise Conflict(
            _("Transfer %(number)s is %(status)s: nothing to receive.")
            % {"number": transfer.number, "status": transfer.get_status_display()},
            code="nothing_to_receive",
            scan=code,
        )
    return transfer


def _purchase_order_open(warehouse: Warehouse, number: str, code: str) -> PurchaseOrder:
    order = PurchaseOrder.objects.select_related("supplier", "warehouse").filter(number=number).first()
    if order is None:
        raise NotFound(_("No purchase order %(code)s.") % {"code": code}, code="unknown_document", scan=code)
    if order.warehouse_id != warehouse.pk:
        raise Conflict(
            _("Purchase order %(number)s is delivered to %(warehouse)s, not here.")
            % {"number": order.number, "warehouse": order.warehouse.code},
            code="other_warehouse",
            scan=code,
        )
    if order.status not in RECEIVABLE_STATUSES:
        raise Conflict(
            _("Purchase order %(number)s is %(status)s: nothing to receive.")
            % {"number": order.number, "status": order.get_status_display()},
            code="nothing_to_receive",
            scan=code,
        )
    return order


def inbound_lines(document: Inbound) -> list[InboundLine]:
    """The document's lines by SKU: for a transfer, received of shipped; for a purchase order, received of
    ordered (with what was rejected at QC)."""
    if isinstance(document, PurchaseOrder):
        rows = document.lines.select_related("product").order_by("product__sku_sort")
        return [
            InboundLine(line.product, line.quantity_received, line.quantity, line.quantity_rejected) for line in rows
        ]
    rows = document.lines.select_related("product").order_by("product__sku_sort")
    return [InboundLine(line.product, line.quantity_received, line.quantity_shipped) for line in rows]


def inbound_received_in_full(document: Inbound) -> bool:
    if isinstance(document, PurchaseOrder):
        return document.status == PurchaseOrder.Status.RECEIVED
    return document.status == Transfer.Status.RECEIVED


def inbound_source(document: Inbound) -> str:
    """Where it comes from: the source warehouse's code, or the supplier's name."""
    if isinstance(document, PurchaseOrder):
        return document.supplier.name
    return document.source.code


@dataclass(frozen=True)
class Received:
    product: Product
    quantity: int
    bin: Bin
    accepted: bool


@transaction.atomic
def receive_item(
    *, document: Inbound, code: str, quantity: int = 1, accept: bool = True, reason: str = "", user=None
) -> Received:
    """Items of the transfer or purchase order received: accepted into the receiving area (then put away), or
    rejected at QC into quarantine with the reason. A transfer refuses more than is still in transit; a purchase
    order more than it ordered beyond the warehouse's over-receipt tolerance."""
    product = product_scanned(code)
    quantity = _quantity(quantity)
    if not document.lines.filter(product=product).exists():
        figures = {"sku": product.sku, "number": document.number}
        raise Conflict(
            _("%(sku)s is not on purchase order %(number)s: set it aside.") % figures
            if isinstance(document, PurchaseOrder)
            else _("%(sku)s is not on transfer %(number)s: set it aside.") % figures,
            code="not_on_document",
            scan=code,
        )
    if not accept and not (reason or "").strip():
        raise ValidationFailed(_("Say why it is rejected (damaged, wrong item...)."), code="reason_required")
    if isinstance(document, PurchaseOrder):
        return _purchase_order_item(document, product, quantity, accept, reason, user)
    warehouse = document.destination
    target = area_bin(warehouse.pk, Bin.Kind.RECEIVING) if accept else area_bin(warehouse.pk, Bin.Kind.QUARANTINE)
    transfer_receive(transfer=document, lines=[(product, quantity)], bin=target, user=user)
    return Received(product=product, quantity=quantity, bin=target, accepted=accept)


def _purchase_order_item(
    order: PurchaseOrder, product: Product, quantity: int, accept: bool, reason: str, user
) -> Received:
    receipt = receipt_scan(
        purchase_order=order, product=product, quantity=quantity, accept=accept, reason=reason.strip(), user=user
    )
    if accept:
        line = receipt.lines.filter(product=product, quantity_accepted__gt=0).exclude(bin=None).order_by("-pk").first()
        target = line.bin if line is not None else area_bin(order.warehouse_id, Bin.Kind.RECEIVING)
    else:
        target = area_bin(order.warehouse_id, Bin.Kind.QUARANTINE)
    return Received(product=product, quantity=quantity, bin=target, accepted=accept)


# --- Put-away ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PutAwayStart:
    product: Product
    from_bin: Bin
    available: int
    suggested: Bin | None
    task: PutBackTask | None


def putaway_suggest(warehouse: Warehouse, product: Product) -> Bin | None:
    """Where the SKU already lives (a sellable storage bin holding it, in walking order), else an empty pick face."""
    living = (
        StockLevel.objects.filter(
            product=product, on_hand__gt=0, bin__warehouse=warehouse, bin__is_active=True, bin__kind__in=STORAGE
        )
        .filter(bin__is_sellable=True)
        .select_related("bin")
        .order_by("bin__kind", "bin__pick_sequence", "bin__code_sort")  # "bulk" < "pick": prefer the pick face
    )
    faces = [level.bin for level in living if level.bin.kind == Bin.Kind.PICK]
    if faces:
        return faces[0]
    if living:
        return living[0].bin
    holding = StockLevel.objects.filter(bin=OuterRef("pk"), on_hand__gt=0)
    return (
        Bin.objects.filter(warehouse=warehouse, kind=Bin.Kind.PICK, is_active=True, is_sellable=True)
        .exclude(Exists(holding))
        .order_by("pick_sequence", "code_sort")
        .first()
    )


def putaway_start(*, warehouse: Warehouse, code: str) -> PutAwayStart:
    """The item scanned in the receiving area (or a put-back task's tote): where it is, how many, where it goes."""
    product = product_scanned(code)
    task = (
        PutBackTask.objects.filter(warehouse=warehouse, product=product, status=PutBackTask.Status.OPEN)
        .select_related("from_bin")
        .order_by("pk")
        .first()
    )
    if task is not None and task.from_bin is not None:
        level = StockLevel.objects.filter(bin=task.from_bin, product=product).first()
        if level is not None and level.on_hand > 0:
            available = min(level.on_hand, task.quantity)
            return PutAwayStart(product, task.from_bin, available, putaway_suggest(warehouse, product), task)
    level = (
        StockLevel.objects.filter(
            product=product, on_hand__gt=0, bin__warehouse=warehouse, bin__kind=Bin.Kind.RECEIVING
        )
        .select_related("bin")
        .order_by("bin__code_sort")
        .first()
    )
    if level is None:
        raise Conflict(
            _("No %(sku)s waits in the receiving area.") % {"sku": product.sku}, code="nothing_to_put_away", scan=code
        )
    return PutAwayStart(product, level.bin, level.on_hand, putaway_suggest(warehouse, product), None)


@transaction.atomic
def putaway_to(*, start: PutAwayStart, bin_code: str, quantity: int, user=None) -> StockMove:
    """The items go into the bin scanned (the suggested one or another storage bin of the warehouse)."""
    quantity = _quantity(quantity)
    target = bin_scanned(start.from_bin.warehouse, bin_code)
    if target.kind not in STORAGE:
        raise Conflict(
            _("%(bin)s is a %(kind)s bin: put stock away into a pick face or bulk bin.")
            % {"bin": target.code, "kind": target.get_kind_display()},
            code="not_storage",
            scan=bin_code,
        )
    if quantity > start.available:
        raise Conflict(
            _("Only %(available)s %(sku)s to put away here.")
            % {"available": start.available, "sku": start.product.sku},
            code="too_many",
        )
    move = stock_move(
        product=start.product,
        from_bin=start.from_bin,
        to_bin=target,
        quantity=quantity,
        reason=StockMove.Reason.PUT_AWAY,
        reference=start.task.reference if start.task else "",
        user=user,
    )
    if start.task is not None:
        left = start.task.quantity - quantity
        if left <= 0:
            PutBackTask.objects.filter(pk=start.task.pk).update(status=PutBackTask.Status.DONE, done_by=user)
        else:
            PutBackTask.objects.filter(pk=start.task.pk).update(quantity=left)
    return move


# --- Counting ----------------------------------------------------------------------------------------------------


def count_for_bin(*, warehouse: Warehouse, code: str) -> tuple[StockCount, Bin]:
    """The open count that covers the bin scanned."""
    bin_ = bin_scanned(warehouse, code)
    count = (
        StockCount.objects.filter(status=StockCount.Status.OPEN, warehouse=warehouse)
        .filter(Exists(StockCountBin.objects.filter(count=OuterRef("pk"), bin=bin_)))
        .order_by("-pk")
        .first()
    )
    if count is None:
        raise Conflict(
            _("No open count covers bin %(bin)s: a manager opens one.") % {"bin": bin_.code},
            code="no_open_count",
            scan=code,
        )
    return count, bin_


@transaction.atomic
def count_submit(*, count: StockCount, bin: Bin, counted: dict[int, int], user=None) -> int:
    """What was scanned in the bin, product by product, recorded in the count; returns the lines recorded."""
    if not counted:
        raise ValidationFailed(_("Scan what is in the bin first (or submit it empty with EMPTY)."), code="empty")
    products = {product.pk: product for product in Product.objects.filter(pk__in=list(counted))}
    for product_id, quantity in sorted(counted.items()):
        if product_id == 0:
            continue  # "the bin is empty": nothing to record but the scans
        stock_count_record(count=count, bin=bin, product=products[product_id], counted_quantity=quantity, user=user)
    return len([key for key in counted if key])


# --- Moving ------------------------------------------------------------------------------------------------------


@transaction.atomic
def move_items(
    *, warehouse: Warehouse, from_code: str, product_code: str, quantity: int, to_code: str, user=None
) -> StockMove:
    """Items moved from one bin to another of the warehouse."""
    from_bin = bin_scanned(warehouse, from_code)
    to_bin = bin_scanned(warehouse, to_code)
    product = product_scanned(product_code)
    if from_bin.pk == to_bin.pk:
        raise Conflict(_("Scan another bin to move to."), code="same_bin", scan=to_code)
    return stock_move(product=product, from_bin=from_bin, to_bin=to_bin, quantity=_quantity(quantity), user=user)

"""Stock work on the floor, scan by scan: receiving a transfer (accepted into the receiving area, or rejected at QC
into quarantine with a reason), putting away (the suggested bin: where the SKU already lives, else an empty pick
face), counting a bin into the open count that covers it, and moving items bin to bin. Every write goes through
the inventory services; these only find what a scan means and refuse what must not happen, naming it.

Receiving against purchase orders comes with the purchasing issue (its purchase orders); transfers from another
warehouse are received here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from core.errors import Conflict, NotFound, ValidationFailed
from inventory.count_services import stock_count_record
from inventory.models import Bin, Product, StockCount, StockCountBin, StockLevel, StockMove, Transfer, Warehouse
from inventory.stock_services import stock_move
from inventory.transfer_services import transfer_receive
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


def _area_bin(warehouse: Warehouse, kind: str, code: str) -> Bin:
    """The warehouse's receiving (or quarantine) area: its first bin of that kind, made on first use."""
    found = Bin.objects.filter(warehouse=warehouse, kind=kind, is_active=True).order_by("pk").first()
    if found is not None:
        return found
    made, _created = Bin.objects.get_or_create(
        warehouse=warehouse, code=code, defaults={"kind": kind, "is_sellable": False, "zone": code}
    )
    return made


# --- Receiving ---------------------------------------------------------------------------------------------------


def receive_open(*, warehouse: Warehouse, code: str) -> Transfer:
    """The transfer whose number was scanned, on its way to this warehouse."""
    transfer = Transfer.objects.filter(number=(code or "").strip().upper()).first()
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


@dataclass(frozen=True)
class Received:
    product: Product
    quantity: int
    bin: Bin
    accepted: bool


@transaction.atomic
def receive_item(
    *, transfer: Transfer, code: str, quantity: int = 1, accept: bool = True, reason: str = "", user=None
) -> Received:
    """Items of the transfer received: accepted into the receiving area (then put away), or rejected at QC into
    quarantine with the reason. More than is still in transit is refused by the transfer."""
    product = product_scanned(code)
    quantity = _quantity(quantity)
    if not transfer.lines.filter(product=product).exists():
        raise Conflict(
            _("%(sku)s is not on transfer %(number)s: set it aside.") % {"sku": product.sku, "number": transfer.number},
            code="not_on_document",
            scan=code,
        )
    if not accept and not (reason or "").strip():
        raise ValidationFailed(_("Say why it is rejected (damaged, wrong item...)."), code="reason_required")
    warehouse = transfer.destination
    target = (
        _area_bin(warehouse, Bin.Kind.RECEIVING, "RECEIVING")
        if accept
        else _area_bin(warehouse, Bin.Kind.QUARANTINE, "QUARANTINE")
    )
    transfer_receive(transfer=transfer, lines=[(product, quantity)], bin=target, user=user)
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

"""Transfers between warehouses: create a draft, ship it (stock leaves the source), receive it in parts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from core.errors import ErrorDetail, ValidationFailed
from core.limits import quantity_problem
from core.status import StatusMachine, next_id, status_check, status_lock, status_start, status_transition
from inventory.errors import InsufficientStock, shortage_line, shortages_listed
from inventory.locks import balances_lock, bins_share_lock, levels_lock
from inventory.models import Bin, Product, StockLevel, StockMove, Transfer, TransferEvent, TransferLine, Warehouse
from inventory.stock_services import PlannedMove, moves_apply

Status = Transfer.Status

# partially_received → partially_received is a further part received, audited like a status change.
TRANSFER_STATUS = StatusMachine(
    model=Transfer,
    status_choices=Status,
    transitions={
        "": {Status.DRAFT},
        Status.DRAFT: {Status.SHIPPED, Status.CANCELLED},
        Status.SHIPPED: {Status.PARTIALLY_RECEIVED, Status.RECEIVED},
        Status.PARTIALLY_RECEIVED: {Status.PARTIALLY_RECEIVED, Status.RECEIVED},
        Status.RECEIVED: set(),
        Status.CANCELLED: set(),
    },
    event_model=TransferEvent,
    event_document_field="transfer",
    label=pgettext_lazy("document", "Transfer"),
    # Ship and receive name both warehouses; the lock serializes ship, receive and cancel of one transfer.
    lock_related=("source", "destination"),
)
IN_TRANSIT_STATUSES = (Status.SHIPPED, Status.PARTIALLY_RECEIVED)


def _quantity_error(product: Product, quantity: Any, field: str) -> ErrorDetail | None:
    problem = quantity_problem(quantity, field=field)
    if problem is None:
        return None
    message = problem.message[0].lower() + problem.message[1:]
    return ErrorDetail(
        _("%(sku)s: quantity %(problem)s") % {"sku": product.sku, "problem": message}, field=field, code=problem.code
    )


@transaction.atomic
def transfer_create(
    *,
    source: Warehouse,
    destination: Warehouse,
    lines: Sequence[tuple[Product, int, Bin | None]],
    note: str = "",
    user=None,
) -> Transfer:
    """Create a draft transfer; every bad line is reported at once and nothing is saved.

    A product may appear on one line only: a line has one source bin, so merging two lines for the same
    product would silently drop one bin choice. Lines without a bin have their bins chosen when shipped.
    """
    errors: list[ErrorDetail] = []
    if source.pk == destination.pk:
        errors.append(
            ErrorDetail(
                _("Source and destination are both warehouse %(code)s.") % {"code": source.code},
                field="destination",
                code="same_warehouse",
            )
        )
    if not lines:
        errors.append(ErrorDetail(_("A transfer needs at least one line."), field="lines", code="required"))
    first_line_of: dict[int, int] = {}
    for index, (product, quantity, from_bin) in enumerate(lines):
        where = f"lines[{index}]"
        problem = _quantity_error(product, quantity, f"{where}.quantity")
        if problem is not None:
            errors.append(problem)
        if product.is_bundle:
            errors.append(
                ErrorDetail(
                    _("%(sku)s is a bundle; transfer its components.") % {"sku": product.sku},
                    field=f"{where}.product",
                    code="bundle",
                )
            )
        if product.pk in first_line_of:
            errors.append(
                ErrorDetail(
                    _("%(sku)s is already on line %(line)s; one line per product.")
                    % {"sku": product.sku, "line": first_line_of[product.pk] + 1},
                    field=f"{where}.product",
                    code="duplicate",
                )
            )
        else:
            first_line_of[product.pk] = index
        if from_bin is not None and from_bin.warehouse_id != source.pk:
            errors.append(
                ErrorDetail(
                    _("%(sku)s: bin %(bin)s is not in source warehouse %(warehouse)s.")
                    % {"sku": product.sku, "bin": from_bin.code, "warehouse": source.code},
                    field=f"{where}.from_bin",
                    code="warehouse",
                )
            )
    if errors:
        raise ValidationFailed(
            _("The transfer was not created: %(problem)s") % {"problem": errors[0].message}, errors=errors
        )

    transfer_id = next_id(Transfer)
    transfer = Transfer.objects.create(
        pk=transfer_id,
        number=f"TR-{transfer_id:06d}",
        source=source,
        destination=destination,
        status=Status.DRAFT,
        note=note,
        created_by=user,
    )
    TransferLine.objects.bulk_create(
        [
            TransferLine(transfer=transfer, product=product, quantity=quantity, from_bin=from_bin)
            for product, quantity, from_bin in lines
        ]
    )
    status_start(machine=TRANSFER_STATUS, document=transfer, user=user)
    return transfer


def _shortage_error(shortages: list[dict[str, Any]]) -> InsufficientStock:
    """One InsufficientStock naming every short line, each with the bin or warehouse it was looked for in."""
    first = shortages[0]
    error = InsufficientStock(
        sku=first["sku"], requested=first["requested"], available=first["available"], where=first["where"]
    )
    error.errors = [
        ErrorDetail(
            shortage_line(
                sku=shortage["sku"],
                requested=shortage["requested"],
                available=shortage["available"],
                where=shortage["where"],
            ),
            code="insufficient_stock",
            field=shortage["field"],
        )
        for shortage in shortages
    ]
    if len(shortages) > 1:
        error.message = _("Not enough stock for %(count)s lines: %(shortages)s") % {
            "count": len(shortages),
            "shortages": shortages_listed(shortages),
        }
    error.context["shortages"] = shortages
    return error


@transaction.atomic
def transfer_ship(*, transfer: Transfer, user=None, carrier_reference: str = "") -> Transfer:
    """Ship a draft: every line leaves the source (TRANSFER_OUT moves), all lines or none.

    A line with a bin takes from that bin. A line without one takes from the source's active sellable bins
    in pick sequence, and never more than is free there (sellable − reserved), so units promised to orders
    stay covered. Non-sellable bins (receiving, packing, quarantine, ...) are never chosen automatically:
    they hold unchecked, picked or damaged goods; name such a bin on the line to ship from it.
    """
    locked = status_lock(machine=TRANSFER_STATUS, document=transfer)
    status_check(machine=TRANSFER_STATUS, document=locked, to_status=Status.SHIPPED)
    source = locked.source
    lines = list(locked.lines.select_related("product", "from_bin").order_by("id"))
    automatic_product_ids = [line.product_id for line in lines if line.from_bin_id is None]
    candidates: list[StockLevel] = []
    if automatic_product_ids:
        candidates = list(
            StockLevel.objects.filter(
                product_id__in=automatic_product_ids,
                bin__warehouse=source,
                bin__is_sellable=True,
                bin__is_active=True,
                on_hand__gt=0,
            ).select_related("bin")
        )

    # Locks in the house order (bins, balances, levels); moves_apply takes them again, at no cost.
    bin_ids = {level.bin_id for level in candidates} | {line.from_bin_id for line in lines if line.from_bin_id}
    sellable_now = bins_share_lock(bin_ids)
    balances = balances_lock([(line.product_id, source.pk) for line in lines])
    level_keys = {(level.product_id, level.bin_id) for level in candidates}
    level_keys |= {(line.product_id, line.from_bin_id) for line in lines if line.from_bin_id}
    levels = levels_lock(level_keys)

    candidates_of: dict[int, list[Bin]] = {}
    for level in sorted(candidates, key=lambda level: (level.bin.pick_sequence, level.bin.code_sort, level.bin_id)):
        if sellable_now.get(level.bin_id):  # the flag may have changed before we locked the bin
            candidates_of.setdefault(level.product_id, []).append(level.bin)

    moves: list[PlannedMove] = []
    shortages: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        product = line.product
        if line.from_bin_id:
            on_hand = levels[(product.pk, line.from_bin_id)].on_hand
            if on_hand < line.quantity:
                shortages.append(
                    {
                        "sku": product.sku,
                        "requested": line.quantity,
                        "available": on_hand,
                        "where": _("bin %(code)s") % {"code": line.from_bin.code},
                        "field": f"lines[{index}].from_bin",
                    }
                )
                continue
            moves.append(
                PlannedMove(
                    product,
                    line.quantity,
                    StockMove.Reason.TRANSFER_OUT,
                    from_bin=line.from_bin,
                    reference=locked.number,
                    note=f"to {locked.destination.code}",
                )
            )
            continue
        balance = balances[(product.pk, source.pk)]
        in_bins = sum(levels[(product.pk, bin_.pk)].on_hand for bin_ in candidates_of.get(product.pk, []))
        available = max(0, min(balance.sellable - balance.reserved, in_bins))
        if available < line.quantity:
            shortages.append(
                {
                    "sku": product.sku,
                    "requested": line.quantity,
                    "available": available,
                    "where": _("warehouse %(code)s (sellable bins, %(reserved)s reserved for orders)")
                    % {"code": source.code, "reserved": balance.reserved},
                    "field": f"lines[{index}].quantity",
                }
            )
            continue
        remaining = line.quantity
        for bin_ in candidates_of[product.pk]:
            take = min(remaining, levels[(product.pk, bin_.pk)].on_hand)
            if take:
                moves.append(
                    PlannedMove(
                        product,
                        take,
                        StockMove.Reason.TRANSFER_OUT,
                        from_bin=bin_,
                        reference=locked.number,
                        note=f"to {locked.destination.code}",
                    )
                )
                remaining -= take
            if not remaining:
                break
    if shortages:
        raise _shortage_error(shortages)

    # A named sellable bin may still hold units that orders need: moves_apply refuses (StockRuleBroken).
    moves_apply(moves=moves, user=user)
    TransferLine.objects.filter(transfer=locked).update(quantity_shipped=F("quantity"))
    return status_transition(
        machine=TRANSFER_STATUS,
        document=locked,
        to_status=Status.SHIPPED,
        user=user,
        note=f"Carrier reference {carrier_reference}" if carrier_reference else "",
        changes={"shipped_at": timezone.now(), "carrier_reference": carrier_reference},
    )


@transaction.atomic
def transfer_receive(
    *,
    transfer: Transfer,
    lines: Sequence[tuple[Product, int]],
    bin: Bin,
    user=None,
) -> Transfer:
    """Receive (part of) what is in transit into one bin of the destination (TRANSFER_IN moves).

    The same product given twice is added up. The transfer becomes received when every line has received
    what was shipped, partially received until then; receiving more than is in transit is refused.
    """
    locked = status_lock(machine=TRANSFER_STATUS, document=transfer)
    status_check(machine=TRANSFER_STATUS, document=locked, to_status=Status.RECEIVED)
    errors: list[ErrorDetail] = []
    if bin.warehouse_id != locked.destination_id:
        errors.append(
            ErrorDetail(
                _("Bin %(bin)s is not in destination warehouse %(warehouse)s.")
                % {"bin": bin.code, "warehouse": locked.destination.code},
                field="bin",
                code="warehouse",
            )
        )
    if not lines:
        errors.append(ErrorDetail(_("Say what was received."), field="lines", code="required"))
    transfer_lines = {line.product_id: line for line in locked.lines.select_related("product")}
    totals: dict[int, int] = {}
    products: dict[int, Product] = {}
    first_index: dict[int, int] = {}
    for index, (product, quantity) in enumerate(lines):
        problem = _quantity_error(product, quantity, f"lines[{index}].quantity")
        if problem is not None:
            errors.append(problem)
            continue
        if product.pk not in transfer_lines:
            errors.append(
                ErrorDetail(
                    _("%(sku)s is not on transfer %(number)s.") % {"sku": product.sku, "number": locked.number},
                    field=f"lines[{index}].product",
                    code="unknown",
                )
            )
            continue
        totals[product.pk] = totals.get(product.pk, 0) + quantity
        products[product.pk] = product
        first_index.setdefault(product.pk, index)
    for product_id, quantity in totals.items():
        line = transfer_lines[product_id]
        if quantity > line.quantity_in_transit:
            errors.append(
                ErrorDetail(
                    _(
                        "%(sku)s: receiving %(quantity)s but only %(in_transit)s in transit (shipped %(shipped)s, "
                        "received %(received)s)."
                    )
                    % {
                        "sku": line.product.sku,
                        "quantity": quantity,
                        "in_transit": line.quantity_in_transit,
                        "shipped": line.quantity_shipped,
                        "received": line.quantity_received,
                    },
                    field=f"lines[{first_index[product_id]}].quantity",
                    code="exceeds_in_transit",
                )
            )
    if errors:
        raise ValidationFailed(_("Nothing was received: %(problem)s") % {"problem": errors[0].message}, errors=errors)

    moves_apply(
        moves=[
            PlannedMove(
                products[product_id],
                quantity,
                StockMove.Reason.TRANSFER_IN,
                to_bin=bin,
                reference=locked.number,
                note=f"from {locked.source.code}",
            )
            for product_id, quantity in totals.items()
        ],
        user=user,
    )
    line_ids = [transfer_lines[product_id].pk for product_id in totals]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE inventory_transferline AS line SET quantity_received = line.quantity_received + received.quantity "
            "FROM unnest(%s::bigint[], %s::int[]) AS received(id, quantity) WHERE line.id = received.id",
            [line_ids, list(totals.values())],
        )
    # The transfer row lock keeps the lines still, so the figures read above plus this receipt are current.
    complete = all(
        line.quantity_received + totals.get(product_id, 0) == line.quantity_shipped
        for product_id, line in transfer_lines.items()
    )
    received = ", ".join(f"{totals[product_id]} × {products[product_id].sku}" for product_id in totals)
    return status_transition(
        machine=TRANSFER_STATUS,
        document=locked,
        to_status=Status.RECEIVED if complete else Status.PARTIALLY_RECEIVED,
        user=user,
        note=f"Received {received} into bin {bin.code}",
        changes={"received_at": timezone.now()} if complete else None,
    )


@transaction.atomic
def transfer_cancel(*, transfer: Transfer, user=None, note: str = "") -> Transfer:
    """Cancel a draft; a shipped transfer has stock on the road and cannot be cancelled."""
    return status_transition(
        machine=TRANSFER_STATUS, document=transfer, to_status=Status.CANCELLED, user=user, note=note
    )


def transfers_in_transit(
    *, warehouse: Warehouse | None = None, product_ids: Iterable[int] | None = None
) -> dict[tuple[int, int], int]:
    """Units shipped and not yet received, per (product_id, destination warehouse_id): the "incoming" figure."""
    queryset = TransferLine.objects.filter(
        transfer__status__in=IN_TRANSIT_STATUSES, quantity_shipped__gt=F("quantity_received")
    )
    if warehouse is not None:
        queryset = queryset.filter(transfer__destination=warehouse)
    if product_ids is not None:
        queryset = queryset.filter(product_id__in=list(product_ids))
    rows = (
        queryset.values("product_id", "transfer__destination_id")
        .annotate(in_transit=Sum(F("quantity_shipped") - F("quantity_received")))
        .order_by()
    )
    return {(row["product_id"], row["transfer__destination_id"]): row["in_transit"] for row in rows}

"""Every write to orders besides the import: mapping lines to products, recording shipments, and what the store
answered when told of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Sum
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.errors import Conflict, ErrorDetail, ValidationFailed
from core.limits import quantity_problem
from core.status import status_lock, status_transition
from orders.fulfilment import orders_settle
from orders.models import Blacklist, Order, OrderEvent, OrderHold, OrderLine, OrderShipment, OrderShipmentLine
from orders.status import ORDER_STATUS, TO_SHIP
from orders.tasks import allocation_queue

Status = Order.Status
# A shipment may be recorded for an order still to ship that no hold stops.
SHIPPABLE = frozenset(
    {
        Status.AWAITING_SHIPMENT,
        Status.AWAITING_STOCK,
        Status.ALLOCATED,
        Status.PICKING,
        Status.PACKED,
        Status.PARTIALLY_SHIPPED,
    }
)

# Sent (on commit) when a shipment is recorded whose store must be told; channels listens and tells it.
shipment_recorded = Signal()


# --- SKU mapping ------------------------------------------------------------------------------------------------


@transaction.atomic
def order_lines_map(*, store_id: int, channel_sku: str, product_id: int | None, quantity: int = 1, user=None) -> int:
    """Point the lines of ``channel_sku`` in the store's orders with something still to ship at ``product_id`` ×
    ``quantity`` (None: the mapping is gone, the lines are unmapped again), and hold or release the orders for
    it. Returns how many orders changed. Shipped and cancelled orders keep the product they shipped with."""
    lines = list(
        OrderLine.objects.select_for_update(of=("self",))
        .filter(order__store_id=store_id, order__status__in=TO_SHIP, channel_sku=channel_sku)
        .exclude(product_id=product_id, product_quantity=F("quantity") * quantity)
        .select_related("order")
        .order_by("order_id", "pk")
    )
    if not lines:
        return 0
    if product_id is None:
        OrderLine.objects.filter(pk__in=[line.pk for line in lines]).update(product=None, product_quantity=None)
    else:
        OrderLine.objects.filter(pk__in=[line.pk for line in lines]).update(
            product_id=product_id, product_quantity=F("quantity") * quantity
        )
    orders = {line.order_id: line.order for line in lines}
    now = timezone.now()
    events = [
        OrderEvent(
            order=order,
            kind=OrderEvent.Kind.MAPPED,
            from_status=order.status,
            to_status=order.status,
            details={"sku": channel_sku, "product": product_id, "quantity": quantity if product_id else None},
            user=user,
        )
        for order in orders.values()
    ]
    open_holds = OrderHold.objects.filter(
        order_id__in=orders, code=OrderHold.Code.UNMAPPED_SKU, detail=channel_sku, released_at__isnull=True
    )
    if product_id is not None:
        released = list(open_holds.values_list("order_id", flat=True))
        open_holds.update(released_at=now, released_by=user)
        events += [
            OrderEvent(
                order=orders[order_id],
                kind=OrderEvent.Kind.RELEASED,
                from_status=orders[order_id].status,
                to_status=orders[order_id].status,
                details={"code": OrderHold.Code.UNMAPPED_SKU, "detail": channel_sku},
                user=user,
            )
            for order_id in released
        ]
    else:
        already = set(open_holds.values_list("order_id", flat=True))
        to_hold = [order for order_id, order in orders.items() if order_id not in already]
        OrderHold.objects.bulk_create(
            [OrderHold(order=order, code=OrderHold.Code.UNMAPPED_SKU, detail=channel_sku) for order in to_hold]
        )
        events += [
            OrderEvent(
                order=order,
                kind=OrderEvent.Kind.HELD,
                from_status=order.status,
                to_status=order.status,
                details={"code": OrderHold.Code.UNMAPPED_SKU, "detail": channel_sku},
                user=user,
            )
            for order in to_hold
        ]
    OrderEvent.objects.bulk_create(events)
    # Lines now point at another product (or none): allocated orders are allocated again.
    orders_settle(
        order_ids=list(orders),
        reopen=list(orders),
        user=user,
        note=gettext_noop("The SKU mapping changed."),
    )
    transaction.on_commit(allocation_queue)
    return len(orders)


@transaction.atomic
def order_hold_release(*, hold: OrderHold, user=None) -> OrderHold:
    """A person looked at a hold (a cancel or change after shipment) and releases it. An unmapped SKU is released
    by mapping the SKU, not by hand."""
    hold = OrderHold.objects.select_for_update().select_related("order").get(pk=hold.pk)
    if hold.released_at is not None:
        return hold
    if hold.code == OrderHold.Code.UNMAPPED_SKU:
        raise Conflict(
            _("Map SKU %(sku)s to a product: that releases the hold by itself.") % {"sku": hold.detail},
            code="hold_needs_mapping",
        )
    hold.released_at = timezone.now()
    hold.released_by = user
    hold.save(update_fields=["released_at", "released_by"])
    OrderEvent.objects.create(
        order=hold.order,
        kind=OrderEvent.Kind.RELEASED,
        from_status=hold.order.status,
        to_status=hold.order.status,
        details={"code": hold.code, "detail": hold.detail},
        user=user,
    )
    orders_settle(order_ids=[hold.order_id], user=user, note=gettext_noop("Hold released."))
    transaction.on_commit(allocation_queue)
    return hold


# --- Shipments --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShipmentLineIn:
    line_id: int
    quantity: int


def _shipped_quantities(order: Order) -> dict[int, int]:
    return dict(
        OrderShipmentLine.objects.filter(shipment__order=order)
        .values_list("line_id")
        .annotate(total=Sum("quantity"))
        .values_list("line_id", "total")
    )


def _checked_shipment_lines(
    order: Order, lines: Sequence[ShipmentLineIn] | None, shipped: dict[int, int]
) -> list[tuple[OrderLine, int]]:
    order_lines = {line.pk: line for line in order.lines.all()}
    remaining = {pk: line.quantity - shipped.get(pk, 0) for pk, line in order_lines.items()}
    if lines is None:
        chosen = [(order_lines[pk], left) for pk, left in remaining.items() if left > 0]
        if not chosen:
            raise Conflict(
                _("Every line of order %(order)s has shipped already.") % {"order": order.channel_order_id},
                code="nothing_to_ship",
            )
        return chosen
    errors: list[ErrorDetail] = []
    chosen: list[tuple[OrderLine, int]] = []
    seen: set[int] = set()
    for position, line in enumerate(lines):
        where = f"lines[{position}]"
        if line.line_id not in order_lines:
            errors.append(ErrorDetail(_("Not a line of this order."), field=f"{where}.line", code="invalid"))
            continue
        if line.line_id in seen:
            errors.append(ErrorDetail(_("The line is given twice."), field=f"{where}.line", code="duplicate"))
            continue
        seen.add(line.line_id)
        problem = quantity_problem(line.quantity, field=f"{where}.quantity", maximum=max(remaining[line.line_id], 1))
        if problem is None and line.quantity > remaining[line.line_id]:
            problem = ErrorDetail(
                _("Only %(left)s of this line are left to ship.") % {"left": remaining[line.line_id]},
                field=f"{where}.quantity",
                code="max_value",
            )
        if problem is not None:
            errors.append(problem)
            continue
        chosen.append((order_lines[line.line_id], line.quantity))
    if errors:
        raise ValidationFailed.listing(_("The shipment's lines"), errors)
    return chosen


@transaction.atomic
def order_shipment_record(
    *,
    order: Order,
    carrier: str,
    tracking_number: str,
    shipped_at: datetime | None = None,
    service: str = "",
    lines: Sequence[ShipmentLineIn] | None = None,
    user=None,
    handed_over: bool = True,
    settle: bool = True,
) -> tuple[OrderShipment, bool]:
    """Record a parcel of ``order`` handed to a carrier (made outside Seabridge, or by logistics): the lines and
    quantities in it (all that is left to ship when not given), the order becomes shipped or partially shipped,
    and the store will be told (once). Recording the same tracking number again returns the shipment recorded
    first, so a caller that retries never makes two. Returns (shipment, created).

    ``handed_over`` False records a label made but not yet handed over, for a store that wants to hear of it
    then: the store is told, the order does not move. Recording it later with ``handed_over`` ships the order.
    ``settle`` False leaves the order's other parcels as they are (logistics ships the parcel's own stock)."""
    order = status_lock(machine=ORDER_STATUS, document=order)
    existing = order.shipments.filter(tracking_number=tracking_number).first()
    if existing is not None:
        if handed_over and not existing.handed_over:
            existing.handed_over = True
            existing.shipped_at = shipped_at or timezone.now()
            existing.save(update_fields=["handed_over", "shipped_at"])
            _order_shipped(order, existing, user, settle)
        return existing, False
    _shippable_check(order)
    shipped = _shipped_quantities(order)
    chosen = _checked_shipment_lines(order, lines, shipped)
    store_status = (
        OrderShipment.StoreStatus.NOT_NEEDED if order.store.channel == "manual" else OrderShipment.StoreStatus.PENDING
    )
    shipment = OrderShipment.objects.create(
        order=order,
        carrier=carrier,
        service=service,
        tracking_number=tracking_number,
        shipped_at=shipped_at or timezone.now(),
        handed_over=handed_over,
        store_status=store_status,
        user=user,
    )
    OrderShipmentLine.objects.bulk_create(
        [OrderShipmentLine(shipment=shipment, line=line, quantity=quantity) for line, quantity in chosen]
    )
    if handed_over:
        _order_shipped(order, shipment, user, settle)
    if store_status == OrderShipment.StoreStatus.PENDING:
        transaction.on_commit(lambda: shipment_recorded.send(sender=OrderShipment, shipment_id=shipment.pk))
    return shipment, True


def _shippable_check(order: Order) -> None:
    if order.status not in SHIPPABLE:
        raise Conflict(
            _("Order %(order)s is %(status)s; only an order not yet shipped (and not on hold) can ship.")
            % {"order": order.channel_order_id, "status": ORDER_STATUS.status_label(order.status)},
            code="invalid_transition",
        )


def _order_shipped(order: Order, shipment: OrderShipment, user, settle: bool) -> None:
    """The order moves to shipped (every unit in a handed-over shipment) or partially shipped."""
    _shippable_check(order)
    shipped = dict(
        OrderShipmentLine.objects.filter(shipment__order=order, shipment__handed_over=True)
        .values_list("line_id")
        .annotate(total=Sum("quantity"))
        .values_list("line_id", "total")
    )
    complete = all(shipped.get(line.pk, 0) >= line.quantity for line in order.lines.all())
    to_status = Status.SHIPPED if complete else Status.PARTIALLY_SHIPPED
    order = status_transition(
        machine=ORDER_STATUS, document=order, to_status=to_status, user=user, note=shipment.tracking_number
    )
    if settle:
        orders_settle(order_ids=[order.pk], user=user)
    OrderEvent.objects.create(
        order=order,
        kind=OrderEvent.Kind.SHIPPED,
        from_status=order.status,
        to_status=order.status,
        details={
            "carrier": shipment.carrier,
            "tracking_number": shipment.tracking_number,
            "lines": {row.line.channel_line_id: row.quantity for row in shipment.lines.select_related("line")},
        },
        user=user,
    )


# How long to wait before telling a store again after an attempt that did not get through.
STORE_RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
STORE_MAX_ATTEMPTS = 8


@transaction.atomic
def order_shipment_store_claim(*, shipment_id: int) -> OrderShipment | None:
    """Take a shipment whose store is to be told, for one attempt: None if it is not due or another worker has
    it. The claim pushes the next attempt into the future before the call, so two workers never both send it;
    if this worker dies during the call, the shipment becomes due again and the adapter asks the store whether
    it knows the parcel before sending it again."""
    now = timezone.now()
    shipment = (
        OrderShipment.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("order", "order__store")
        .filter(pk=shipment_id, store_status=OrderShipment.StoreStatus.PENDING)
        .first()
    )
    if shipment is None or (shipment.store_next_attempt_at and shipment.store_next_attempt_at > now):
        return None
    delay = STORE_RETRY_DELAYS[min(shipment.store_attempts, len(STORE_RETRY_DELAYS) - 1)]
    shipment.store_attempts += 1
    shipment.store_next_attempt_at = now + delay
    shipment.save(update_fields=["store_attempts", "store_next_attempt_at"])
    return shipment


@transaction.atomic
def order_shipment_store_result(
    *, shipment: OrderShipment, confirmed: bool, message: str = "", reference: str = "", final: bool = False
) -> OrderShipment:
    """What the store answered: confirmed (told, or it knew already), or not. A refusal (``final``) or too many
    attempts make it failed, for a person to see on the order; otherwise it stays pending for the next try."""
    shipment = OrderShipment.objects.select_for_update().select_related("order").get(pk=shipment.pk)
    if confirmed:
        shipment.store_status = OrderShipment.StoreStatus.CONFIRMED
        shipment.store_confirmed_at = timezone.now()
        shipment.store_reference = reference[:100]
        shipment.store_next_attempt_at = None
    elif final or shipment.store_attempts >= STORE_MAX_ATTEMPTS:
        shipment.store_status = OrderShipment.StoreStatus.FAILED
        shipment.store_next_attempt_at = None
    shipment.store_message = message
    shipment.save(
        update_fields=[
            "store_status",
            "store_confirmed_at",
            "store_reference",
            "store_next_attempt_at",
            "store_message",
        ]
    )
    if shipment.store_status != OrderShipment.StoreStatus.PENDING:
        OrderEvent.objects.create(
            order=shipment.order,
            kind=OrderEvent.Kind.STORE_TOLD,
            from_status=shipment.order.status,
            to_status=shipment.order.status,
            details={
                "tracking_number": shipment.tracking_number,
                "outcome": shipment.store_status,
                "message": message[:500],
            },
        )
    return shipment


@transaction.atomic
def order_shipment_store_retry(*, shipment: OrderShipment, user=None) -> OrderShipment:
    """A person fixed what the store refused (say, the carrier's name) and asks to tell the store again."""
    shipment = OrderShipment.objects.select_for_update().get(pk=shipment.pk)
    if shipment.store_status != OrderShipment.StoreStatus.FAILED:
        raise Conflict(_("Only a shipment the store refused can be sent again."), code="invalid_transition")
    shipment.store_status = OrderShipment.StoreStatus.PENDING
    shipment.store_attempts = 0
    shipment.store_next_attempt_at = None
    shipment.save(update_fields=["store_status", "store_attempts", "store_next_attempt_at"])
    transaction.on_commit(lambda: shipment_recorded.send(sender=OrderShipment, shipment_id=shipment.pk))
    return shipment


# --- Blacklist --------------------------------------------------------------------------------------------------


@transaction.atomic
def blacklist_save(*, entry: Blacklist | None = None, data: Mapping[str, Any]) -> Blacklist:
    """Add or change an entry; its value is kept normalised for its kind (``orders.checks.blacklist_value``)."""
    from orders.checks import blacklist_value

    entry = entry or Blacklist()
    for name in ("kind", "reason", "is_active"):
        if name in data:
            setattr(entry, name, data[name])
    if "value" in data or "kind" in data:
        raw = data.get("value", entry.value)
        entry.value = blacklist_value(entry.kind, raw)
        if not entry.value:
            raise ValidationFailed(
                _("Nothing to match in %(value)s.") % {"value": repr(raw)},
                errors=[ErrorDetail(_("Nothing to match (an address is COUNTRY: street postcode)."), field="value")],
            )
    if Blacklist.objects.filter(kind=entry.kind, value=entry.value).exclude(pk=entry.pk).exists():
        raise Conflict(_("%(value)s is on the blacklist already.") % {"value": entry.value}, code="duplicate")
    entry.full_clean(validate_unique=False)
    entry.save()
    return entry

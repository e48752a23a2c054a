"""The status machine of an order, and which statuses count as open.

An order is imported in whatever status its store gives it: pending payment, new (``awaiting_shipment``, the
marketplaces' word), shipped in part or whole, or cancelled. Allocation (``orders.fulfilment``) moves a new order
on: on hold (an open ``OrderHold`` says why), awaiting stock, or allocated (its parcels' stock reserved). The
warehouse moves it to picking and packed, logistics to shipped, delivered or returned. Cancelled, returned and
(for the store's changes) shipped are closed: a change the store makes once picking has begun does not move
the order back, it holds it for a person (``OrderHold.Code.CHANGED_AFTER_SHIPMENT`` / ``CANCELLED_AFTER_SHIPMENT``).
"""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

from core.status import StatusMachine
from orders.models import Order, OrderEvent

Status = Order.Status

# The store may say an order shipped (from another warehouse, by the seller by hand) at any step before packing.
_SHIPPED_BY_STORE = {Status.PARTIALLY_SHIPPED, Status.SHIPPED}

ORDER_STATUS = StatusMachine(
    model=Order,
    status_choices=Status,
    transitions={
        "": {Status.PENDING, Status.AWAITING_SHIPMENT, Status.PARTIALLY_SHIPPED, Status.SHIPPED, Status.CANCELLED},
        Status.PENDING: {Status.AWAITING_SHIPMENT, *_SHIPPED_BY_STORE, Status.CANCELLED},
        Status.AWAITING_SHIPMENT: {
            Status.PENDING,
            Status.ON_HOLD,
            Status.AWAITING_STOCK,
            Status.ALLOCATED,
            *_SHIPPED_BY_STORE,
            Status.CANCELLED,
        },
        Status.ON_HOLD: {Status.AWAITING_SHIPMENT, *_SHIPPED_BY_STORE, Status.CANCELLED},
        Status.AWAITING_STOCK: {
            Status.AWAITING_SHIPMENT,
            Status.ON_HOLD,
            Status.ALLOCATED,
            *_SHIPPED_BY_STORE,
            Status.CANCELLED,
        },
        Status.ALLOCATED: {
            Status.AWAITING_SHIPMENT,
            Status.ON_HOLD,
            Status.PICKING,
            *_SHIPPED_BY_STORE,
            Status.CANCELLED,
        },
        Status.PICKING: {Status.PACKED, *_SHIPPED_BY_STORE, Status.CANCELLED},
        Status.PACKED: {*_SHIPPED_BY_STORE, Status.CANCELLED},
        Status.PARTIALLY_SHIPPED: {Status.PARTIALLY_SHIPPED, Status.SHIPPED},
        Status.SHIPPED: {Status.DELIVERED, Status.RETURNED},
        Status.DELIVERED: {Status.RETURNED},
        Status.RETURNED: set(),
        Status.CANCELLED: set(),
    },
    event_model=OrderEvent,
    event_document_field="order",
    label=pgettext_lazy("document", "Order"),
    number_field="channel_order_id",
    lock_related=("store",),
)

# Before picking: the store's changes and cancellations apply as they come (reserved stock is given back).
NOT_SHIPPED = frozenset(
    {Status.PENDING, Status.AWAITING_SHIPMENT, Status.ON_HOLD, Status.AWAITING_STOCK, Status.ALLOCATED}
)
# Seabridge's own steps between new and shipped: the store's "awaiting shipment" is no news for them.
IN_PROCESS = frozenset({Status.ON_HOLD, Status.AWAITING_STOCK, Status.ALLOCATED, Status.PICKING, Status.PACKED})
# Stock is reserved for it (in part, when split) or may be: giving the order back means releasing it.
RESERVED = frozenset({Status.ALLOCATED})
# Something is still to ship: a line whose SKU is not mapped holds the order.
TO_SHIP = frozenset(NOT_SHIPPED | {Status.PICKING, Status.PACKED, Status.PARTIALLY_SHIPPED})
# Not yet picked: merge, split, set warehouse or method, and undo are safe.
NOT_PICKED = frozenset({Status.AWAITING_SHIPMENT, Status.ON_HOLD, Status.AWAITING_STOCK, Status.ALLOCATED})

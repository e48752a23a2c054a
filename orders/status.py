"""The status machine of an order, and which statuses count as open.

An order is imported in whatever status its store gives it. The store may move it on (pending → awaiting
shipment, or cancelled), Seabridge moves it when a shipment is recorded. Shipped and cancelled are closed; a
change the store makes to an order after shipment does not move it back, it holds it for a person
(``OrderHold.Code.CHANGED_AFTER_SHIPMENT`` / ``CANCELLED_AFTER_SHIPMENT``). Later issues add the statuses of
the warehouse's work (allocated, picking, packed) between awaiting shipment and shipped.
"""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

from core.status import StatusMachine
from orders.models import Order, OrderEvent

Status = Order.Status

ORDER_STATUS = StatusMachine(
    model=Order,
    status_choices=Status,
    transitions={
        "": {Status.PENDING, Status.AWAITING_SHIPMENT, Status.PARTIALLY_SHIPPED, Status.SHIPPED, Status.CANCELLED},
        Status.PENDING: {Status.AWAITING_SHIPMENT, Status.PARTIALLY_SHIPPED, Status.SHIPPED, Status.CANCELLED},
        Status.AWAITING_SHIPMENT: {Status.PENDING, Status.PARTIALLY_SHIPPED, Status.SHIPPED, Status.CANCELLED},
        Status.PARTIALLY_SHIPPED: {Status.PARTIALLY_SHIPPED, Status.SHIPPED},
        Status.SHIPPED: set(),
        Status.CANCELLED: set(),
    },
    event_model=OrderEvent,
    event_document_field="order",
    label=pgettext_lazy("document", "Order"),
    number_field="channel_order_id",
    lock_related=("store",),
)

# Nothing has left the warehouse: the store's changes and cancellations apply as they come.
NOT_SHIPPED = frozenset({Status.PENDING, Status.AWAITING_SHIPMENT})
# Something is still to ship: a line whose SKU is not mapped holds the order.
TO_SHIP = frozenset({Status.PENDING, Status.AWAITING_SHIPMENT, Status.PARTIALLY_SHIPPED})

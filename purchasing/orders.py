"""Purchase orders: their status machine, drafts made from suggestions (one per supplier), submit, cancel, and
the lines a buyer edits while the order is a draft."""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

from core.status import StatusMachine
from purchasing.models import PurchaseOrder, PurchaseOrderEvent

Status = PurchaseOrder.Status

# partially_received → partially_received is a further receipt, audited like a status change; partially_received →
# received is also how a buyer closes an order short (the rest will not come).
PO_STATUS = StatusMachine(
    model=PurchaseOrder,
    status_choices=Status,
    transitions={
        "": {Status.DRAFT},
        Status.DRAFT: {Status.SUBMITTED, Status.CANCELLED},
        Status.SUBMITTED: {Status.PARTIALLY_RECEIVED, Status.RECEIVED, Status.CANCELLED},
        Status.PARTIALLY_RECEIVED: {Status.PARTIALLY_RECEIVED, Status.RECEIVED},
        Status.RECEIVED: set(),
        Status.CANCELLED: set(),
    },
    event_model=PurchaseOrderEvent,
    event_document_field="purchase_order",
    label=pgettext_lazy("document", "Purchase order"),
    lock_related=("supplier", "warehouse"),
)
# What a warehouse can receive against, and what counts as incoming stock in the suggestions.
RECEIVABLE_STATUSES = (Status.SUBMITTED, Status.PARTIALLY_RECEIVED)

"""What the floor does when orders change: a cancelled order's picked goods become put-back tasks."""

from __future__ import annotations

from django.dispatch import receiver

from orders.fulfilment import order_cancelled
from warehouse.models import PutBackTask


@receiver(order_cancelled, dispatch_uid="warehouse.order_cancelled")
def put_back_tasks_make(sender, order, picked, user=None, **kwargs) -> None:
    """One task per parcel and product picked, in the cancelling transaction (so both happen or neither)."""
    for row in picked:
        task, created = PutBackTask.objects.get_or_create(
            reference=row["reference"],
            product_id=row["product_id"],
            defaults={
                "warehouse_id": row["warehouse_id"],
                "quantity": row["quantity"],
                "order": order,
                "from_bin_id": row.get("from_bin_id"),
            },
        )
        if not created and task.quantity != row["quantity"]:
            PutBackTask.objects.filter(pk=task.pk).update(quantity=row["quantity"])

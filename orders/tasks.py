"""Tasks of orders: the allocation run, queued after every import that brings new orders and every minute."""

from __future__ import annotations

from celery import shared_task

from core.outbox import task_enqueue
from core.tasks import RETRY_TRANSIENT

ALLOCATION_TIME_LIMIT = 30 * 60


# Late ack: queued through the outbox after imports (and every minute by beat); an allocation commits batch by
# batch under row locks and takes only orders still new or awaiting stock, so a second run finds nothing to redo.
@shared_task(
    name="orders.tasks.orders_allocate_task",
    time_limit=ALLOCATION_TIME_LIMIT,
    soft_time_limit=ALLOCATION_TIME_LIMIT - 60,
    acks_late=True,
    **RETRY_TRANSIENT,
)
def orders_allocate_task() -> dict[str, int]:
    """Allocate every new order and retry those awaiting stock. Safe to run twice or side by side: each batch
    locks its orders and skips those another run holds."""
    from orders.fulfilment import orders_allocate

    return orders_allocate().counts()


def allocation_queue() -> None:
    """Queue an allocation run through the outbox (call on commit, after the orders it is for are saved; the
    schedule's run every minute covers a crash between the two)."""
    task_enqueue(orders_allocate_task)

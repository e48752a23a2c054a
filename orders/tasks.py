"""Tasks of orders: the allocation run, queued after every import that brings new orders and every minute."""

from __future__ import annotations

from celery import shared_task

ALLOCATION_TIME_LIMIT = 30 * 60


@shared_task(
    name="orders.tasks.orders_allocate_task",
    time_limit=ALLOCATION_TIME_LIMIT,
    soft_time_limit=ALLOCATION_TIME_LIMIT - 60,
)
def orders_allocate_task() -> dict[str, int]:
    """Allocate every new order and retry those awaiting stock. Safe to run twice or side by side: each batch
    locks its orders and skips those another run holds."""
    from orders.fulfilment import orders_allocate

    return orders_allocate().counts()


def allocation_queue() -> None:
    """Queue an allocation run (call on commit, after the orders it is for are saved)."""
    orders_allocate_task.delay()

"""The periodic tasks of orders: the allocation run every minute, which also allocates orders awaiting stock once
stock has come in (by ship-by date, then oldest)."""

from __future__ import annotations

from core.schedules import interval_task_ensure

ALLOCATION_TASK = "orders: allocation run"


def periodic_tasks_ensure() -> dict[str, str]:
    return {
        ALLOCATION_TASK: interval_task_ensure(
            name=ALLOCATION_TASK,
            task="orders.tasks.orders_allocate_task",
            minutes=1,
            description="Allocates new orders and retries those awaiting stock.",
        )
    }

"""The periodic tasks of purchasing: the suggestions recomputed every hour, and stock-out days noted every hour
(once a day per product and warehouse, however often it runs)."""

from __future__ import annotations

from core.schedules import interval_task_ensure

SUGGESTIONS_TASK = "purchasing: suggestions"
STOCKOUT_DAYS_TASK = "purchasing: stock-out days"


def periodic_tasks_ensure() -> dict[str, str]:
    return {
        SUGGESTIONS_TASK: interval_task_ensure(
            name=SUGGESTIONS_TASK,
            task="purchasing.tasks.suggestions_compute_task",
            minutes=60,
            description="Recomputes what to buy or transfer for every product and warehouse, from sales, stock, "
            "purchase orders, transfers and backorders.",
        ),
        STOCKOUT_DAYS_TASK: interval_task_ensure(
            name=STOCKOUT_DAYS_TASK,
            task="purchasing.tasks.stockout_days_record_task",
            minutes=60,
            description="Notes the products with nothing available in a warehouse today, so their sales windows "
            "leave the day out.",
        ),
    }

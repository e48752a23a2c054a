"""Tasks of purchasing: the purchase suggestions recomputed, and the day's stock-outs noted, every hour."""

from __future__ import annotations

from celery import shared_task

from core.tasks import RETRY_TRANSIENT

# A full run over 100,000 products and warehouses takes well under a minute (bench/bench_suggestions.py).
SUGGESTIONS_TIME_LIMIT = 30 * 60


# Late ack: asked for on demand through the outbox (and hourly by beat); it writes the same figures from the same
# data, so a second delivery is harmless.
@shared_task(
    name="purchasing.tasks.suggestions_compute_task",
    time_limit=SUGGESTIONS_TIME_LIMIT,
    soft_time_limit=SUGGESTIONS_TIME_LIMIT - 60,
    acks_late=True,
    **RETRY_TRANSIENT,
)
def suggestions_compute_task(*, warehouse_ids: list[int] | None = None, product_ids: list[int] | None = None) -> int:
    """Recompute the suggestions of every product in every warehouse, or of those given by id; returns the rows
    written. Safe to repeat or to run beside another: runs take turns, and each writes the same figures from the
    same data."""
    from purchasing.suggestions import suggestions_compute

    return suggestions_compute(warehouses=warehouse_ids, products=product_ids)


# Early ack: daily from beat, whose next run is its retry.
@shared_task(
    name="purchasing.tasks.stockout_days_record_task",
    time_limit=10 * 60,
    soft_time_limit=9 * 60,
    acks_late=False,
    **RETRY_TRANSIENT,
)
def stockout_days_record_task() -> int:
    """Note today as a stock-out day of every product with nothing available in a warehouse; returns how many
    were new (safe to repeat: a day is noted once)."""
    from purchasing.suggestions import stockout_days_record

    return stockout_days_record()

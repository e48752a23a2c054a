"""Celery tasks of inventory: thin wrappers that run one service or check each."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from core.tasks import RETRY_TRANSIENT
from inventory.ledger import stock_drift_check

logger = logging.getLogger(__name__)


# Read-only and one statement, so running it twice is harmless; a million moves take seconds, hence the limits.
# Early ack: it runs daily from beat, whose next run is its retry.
@shared_task(
    name="inventory.tasks.stock_drift_check_task",
    time_limit=15 * 60,
    soft_time_limit=10 * 60,
    acks_late=False,
    **RETRY_TRANSIENT,
)
def stock_drift_check_task(*, warehouse_ids: list[int] | None = None) -> dict[str, Any]:
    """Check levels and balances against the ledger; log an error listing the drifts; return the summary."""
    report = stock_drift_check(warehouse_ids=warehouse_ids)
    summary = report.summary()
    if not report.ok:
        logger.error(
            "Stock drift: %d levels and %d balances disagree with the ledger, %d reservations with their history "
            "(run manage.py stock_check):\n%s",
            summary["level_drifts"],
            summary["balance_drifts"],
            summary["reservation_drifts"],
            "\n".join(summary["drifts"]),
        )
    return summary

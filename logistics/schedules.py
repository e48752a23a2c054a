"""The periodic tasks of logistics: tracking every hour."""

from __future__ import annotations

from core.schedules import interval_task_ensure

TRACKING_TASK = "logistics: tracking"


def periodic_tasks_ensure() -> dict[str, str]:
    return {
        TRACKING_TASK: interval_task_ensure(
            name=TRACKING_TASK,
            task="logistics.tasks.shipments_track_task",
            minutes=60,
            description="Fetches tracking for parcels handed over and moves them to delivered, exception or returned.",
        )
    }

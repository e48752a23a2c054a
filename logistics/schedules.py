"""The periodic tasks of logistics: tracking every hour; labels still missing and labels to void every five
minutes."""

from __future__ import annotations

from core.schedules import interval_task_ensure

TRACKING_TASK = "logistics: tracking"
LABELS_TASK = "logistics: labels still missing"
VOIDS_TASK = "logistics: labels to void"


def periodic_tasks_ensure() -> dict[str, str]:
    return {
        TRACKING_TASK: interval_task_ensure(
            name=TRACKING_TASK,
            task="logistics.tasks.shipments_track_task",
            minutes=60,
            description="Fetches tracking for parcels handed over and moves them to delivered, exception or returned.",
        ),
        LABELS_TASK: interval_task_ensure(
            name=LABELS_TASK,
            task="logistics.tasks.shipments_labels_refresh_task",
            minutes=5,
            description="Asks carriers again for labels they have not given yet (no answer, or a tracking number "
            "issued later), under the same number: never a second parcel.",
        ),
        VOIDS_TASK: interval_task_ensure(
            name=VOIDS_TASK,
            task="logistics.tasks.shipments_void_task",
            minutes=5,
            description="Voids with their carriers the labels of cancelled orders that could not be voided at once.",
        ),
    }

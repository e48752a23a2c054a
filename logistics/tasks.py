"""Tasks of logistics: following handed-over parcels with their carriers."""

from __future__ import annotations

from celery import shared_task

TRACK_TIME_LIMIT = 30 * 60


@shared_task(
    name="logistics.tasks.shipments_track_task", time_limit=TRACK_TIME_LIMIT, soft_time_limit=TRACK_TIME_LIMIT - 60
)
def shipments_track_task() -> dict[str, int]:
    """Ask every carrier where its parcels in transit are (safe to repeat: each event is kept once)."""
    from logistics.shipments import shipments_track

    return shipments_track()

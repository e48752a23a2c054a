"""Tasks of logistics: following handed-over parcels with their carriers, labels still missing, labels to void."""

from __future__ import annotations

from celery import shared_task

from core.tasks import RETRY_TRANSIENT

TRACK_TIME_LIMIT = 30 * 60


# All three run from beat and ack early: the next tick is their retry, and each is safe to repeat (below).
@shared_task(
    name="logistics.tasks.shipments_track_task",
    time_limit=TRACK_TIME_LIMIT,
    soft_time_limit=TRACK_TIME_LIMIT - 60,
    acks_late=False,
    **RETRY_TRANSIENT,
)
def shipments_track_task() -> dict[str, int]:
    """Ask every carrier where its parcels in transit are (safe to repeat: each event is kept once)."""
    from logistics.shipments import shipments_track

    return shipments_track()


@shared_task(
    name="logistics.tasks.shipments_labels_refresh_task",
    time_limit=15 * 60,
    soft_time_limit=14 * 60,
    acks_late=False,
    **RETRY_TRANSIENT,
)
def shipments_labels_refresh_task() -> int:
    """Labels the carriers have not given yet, asked again (safe to repeat: the same number each time)."""
    from logistics.shipments import shipments_labels_refresh

    return shipments_labels_refresh()


@shared_task(
    name="logistics.tasks.shipments_void_task",
    time_limit=15 * 60,
    soft_time_limit=14 * 60,
    acks_late=False,
    **RETRY_TRANSIENT,
)
def shipments_void_task() -> dict[str, int]:
    """Labels of cancelled orders voided with their carriers (safe to repeat: a voided label is done)."""
    from logistics.shipments import shipments_void_pending

    return shipments_void_pending()

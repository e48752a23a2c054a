"""Tasks of the warehouse floor: a released wave's labels made with the carriers."""

from __future__ import annotations

from celery import shared_task

from core.tasks import RETRY_TRANSIENT


# Late ack, through the outbox: a parcel keeps its live shipment, and a shipment is committed with its number before
# the carrier is asked, so a second run asks the carrier again under the same number (it finds the parcel it made,
# never buys a second label).
@shared_task(
    name="warehouse.tasks.wave_labels_task",
    time_limit=30 * 60,
    soft_time_limit=29 * 60,
    acks_late=True,
    **RETRY_TRANSIENT,
)
def wave_labels_task(wave_id: int) -> dict[str, int]:
    """Labels for every parcel of a released wave (safe to repeat: a parcel keeps the shipment it has)."""
    from warehouse.models import Wave
    from warehouse.waves import wave_labels_make

    return wave_labels_make(wave=Wave.objects.get(pk=wave_id))

"""Tasks of the warehouse floor: a released wave's labels made with the carriers."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="warehouse.tasks.wave_labels_task", time_limit=30 * 60, soft_time_limit=29 * 60)
def wave_labels_task(wave_id: int) -> dict[str, int]:
    """Labels for every parcel of a released wave (safe to repeat: a parcel keeps the shipment it has)."""
    from warehouse.models import Wave
    from warehouse.waves import wave_labels_make

    return wave_labels_make(wave=Wave.objects.get(pk=wave_id))

"""The periodic tasks of logistics, written to django-celery-beat's tables so beat runs them: tracking every hour."""

from __future__ import annotations

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

TRACKING_TASK = "logistics: tracking"


@transaction.atomic
def periodic_tasks_ensure() -> dict[str, str]:
    """Create or correct the tracking run's schedule; whether it is enabled stays as people set it."""
    interval = IntervalSchedule.objects.filter(every=60, period=IntervalSchedule.MINUTES).order_by(
        "pk"
    ).first() or IntervalSchedule.objects.create(every=60, period=IntervalSchedule.MINUTES)
    wanted = {
        "task": "logistics.tasks.shipments_track_task",
        "interval": interval,
        "crontab": None,
        "description": "Fetches tracking for parcels handed over and moves them to delivered, exception or returned.",
    }
    task = PeriodicTask.objects.filter(name=TRACKING_TASK).first()
    if task is None:
        PeriodicTask.objects.create(name=TRACKING_TASK, **wanted)
        return {TRACKING_TASK: "created"}
    changed = [name for name, value in wanted.items() if getattr(task, name) != value]
    for name in changed:
        setattr(task, name, wanted[name])
    if changed:
        task.save()
    return {TRACKING_TASK: "updated" if changed else "unchanged"}

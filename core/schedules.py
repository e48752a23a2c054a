"""Periodic tasks that run every few minutes, written to django-celery-beat's tables (each app's ``schedules``
module calls this from its ``periodic_tasks_ensure``, which bootstrap runs)."""

from __future__ import annotations

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask


@transaction.atomic
def interval_task_ensure(*, name: str, task: str, minutes: int, description: str) -> str:
    """Create or correct the periodic task ``name``: "created", "updated" or "unchanged". The code owns what runs
    and how often; whether it is enabled stays as people set it in the admin."""
    # IntervalSchedule has no unique key: reuse the first matching row rather than get_or_create.
    interval = IntervalSchedule.objects.filter(every=minutes, period=IntervalSchedule.MINUTES).order_by(
        "pk"
    ).first() or IntervalSchedule.objects.create(every=minutes, period=IntervalSchedule.MINUTES)
    wanted = {"task": task, "interval": interval, "crontab": None, "description": description}
    existing = PeriodicTask.objects.filter(name=name).first()
    if existing is None:
        PeriodicTask.objects.create(name=name, **wanted)
        return "created"
    changed = [field for field, value in wanted.items() if getattr(existing, field) != value]
    for field in changed:
        setattr(existing, field, wanted[field])
    if changed:
        existing.save()
    return "updated" if changed else "unchanged"

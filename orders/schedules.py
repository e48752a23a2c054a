"""The periodic tasks of orders, written to django-celery-beat's tables so beat runs them: the allocation run
every minute, which also allocates orders awaiting stock once stock has come in (by ship-by date, then oldest)."""

from __future__ import annotations

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

ALLOCATION_TASK = "orders: allocation run"


@transaction.atomic
def periodic_tasks_ensure() -> dict[str, str]:
    """Create or correct the allocation run's schedule; whether it is enabled stays as people set it."""
    interval = IntervalSchedule.objects.filter(every=1, period=IntervalSchedule.MINUTES).order_by(
        "pk"
    ).first() or IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
    wanted = {
        "task": "orders.tasks.orders_allocate_task",
        "interval": interval,
        "crontab": None,
        "description": "Allocates new orders and retries those awaiting stock.",
    }
    task = PeriodicTask.objects.filter(name=ALLOCATION_TASK).first()
    if task is None:
        PeriodicTask.objects.create(name=ALLOCATION_TASK, **wanted)
        return {ALLOCATION_TASK: "created"}
    changed = [name for name, value in wanted.items() if getattr(task, name) != value]
    for name in changed:
        setattr(task, name, wanted[name])
    if changed:
        task.save()
    return {ALLOCATION_TASK: "updated" if changed else "unchanged"}

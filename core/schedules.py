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


OUTBOX_DRAIN_TASK = "core: task outbox drain"
OUTBOX_DRAIN_SECONDS = 30


@transaction.atomic
def periodic_tasks_ensure() -> dict[str, str]:
    """Core's periodic tasks: the task outbox drained every 30 seconds (core.outbox), and the hourly clean-ups."""
    interval = IntervalSchedule.objects.filter(every=OUTBOX_DRAIN_SECONDS, period=IntervalSchedule.SECONDS).order_by(
        "pk"
    ).first() or IntervalSchedule.objects.create(every=OUTBOX_DRAIN_SECONDS, period=IntervalSchedule.SECONDS)
    wanted = {
        "task": "core.tasks.outbox_drain_task",
        "interval": interval,
        "crontab": None,
        "description": "Sends queued tasks the broker has not taken yet, lost, or whose worker died.",
    }
    existing = PeriodicTask.objects.filter(name=OUTBOX_DRAIN_TASK).first()
    if existing is None:
        PeriodicTask.objects.create(name=OUTBOX_DRAIN_TASK, **wanted)
        return {OUTBOX_DRAIN_TASK: "created", **hourly_periodic_tasks_ensure()}
    changed = [field for field, value in wanted.items() if getattr(existing, field) != value]
    for field in changed:
        setattr(existing, field, wanted[field])
    if changed:
        existing.save()
    return {OUTBOX_DRAIN_TASK: "updated" if changed else "unchanged", **hourly_periodic_tasks_ensure()}


IDEMPOTENCY_EXPIRE_TASK = "core: idempotency keys expire"
THROTTLE_PRUNE_TASK = "core: throttle counters prune"


def hourly_periodic_tasks_ensure() -> dict[str, str]:
    """Every hour: Idempotency-Keys older than IDEMPOTENCY_KEY_TTL_HOURS deleted (core.idempotency), and the throttle
    counters of clients not seen for a day (core.throttle)."""
    return {
        IDEMPOTENCY_EXPIRE_TASK: interval_task_ensure(
            name=IDEMPOTENCY_EXPIRE_TASK,
            task="core.tasks.idempotency_records_expire_task",
            minutes=60,
            description="Deletes the records of Idempotency-Keys older than a day.",
        ),
        THROTTLE_PRUNE_TASK: interval_task_ensure(
            name=THROTTLE_PRUNE_TASK,
            task="core.tasks.throttle_counters_prune_task",
            minutes=60,
            description="Deletes the login and API throttle counters of clients not seen for a day.",
        ),
    }

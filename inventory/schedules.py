"""The periodic tasks of inventory, written to django-celery-beat's tables so beat runs them."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask


@dataclass(frozen=True)
class DailyTask:
    """A task run once a day at ``hour``:``minute`` in the Celery time zone."""

    name: str
    task: str
    hour: int
    minute: int
    description: str


PERIODIC_TASKS = (
    DailyTask(
        name="inventory: stock drift check",
        task="inventory.tasks.stock_drift_check_task",
        hour=3,
        minute=30,
        description="Checks every stock level and balance against the ledger and logs an error on drift.",
    ),
)


def _daily_crontab(*, hour: int, minute: int) -> CrontabSchedule:
    # CrontabSchedule has no unique key, so reuse the first matching row instead of get_or_create, which
    # fails once an admin has saved a duplicate.
    values = {
        "minute": str(minute),
        "hour": str(hour),
        "day_of_week": "*",
        "day_of_month": "*",
        "month_of_year": "*",
        "timezone": zoneinfo.ZoneInfo(settings.CELERY_TIMEZONE),
    }
    return CrontabSchedule.objects.filter(**values).order_by("pk").first() or CrontabSchedule.objects.create(**values)


@transaction.atomic
def periodic_tasks_ensure() -> dict[str, str]:
    """Create or correct every inventory periodic task; returns name -> "created", "updated" or "unchanged".

    The code owns what runs and when; whether it is enabled is left as people set it in the admin, so
    running this again (every bootstrap does) never re-enables a task someone switched off.
    """
    outcome: dict[str, str] = {}
    for daily in PERIODIC_TASKS:
        crontab = _daily_crontab(hour=daily.hour, minute=daily.minute)
        wanted = {
            "task": daily.task,
            "crontab": crontab,
            "interval": None,
            "solar": None,
            "clocked": None,
            "one_off": False,
            "args": "[]",
            "kwargs": "{}",
            "description": daily.description,
        }
        periodic_task = PeriodicTask.objects.select_for_update().filter(name=daily.name).first()
        if periodic_task is None:
            PeriodicTask.objects.create(name=daily.name, enabled=True, **wanted)
            outcome[daily.name] = "created"
            continue
        differs = [field for field, value in wanted.items() if getattr(periodic_task, field) != value]
        if not differs:
            outcome[daily.name] = "unchanged"
            continue
        for field in differs:
            setattr(periodic_task, field, wanted[field])
        # save() (not update()) so django-celery-beat marks its schedule as changed and beat reloads it.
        periodic_task.save()
        outcome[daily.name] = "updated"
    return outcome

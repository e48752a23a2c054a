"""Every task of ours says whether it acknowledges late and how long it may run, retries only transient errors a
bounded number of times with growing waits, and the broker never hands out a running task twice."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import InterfaceError, OperationalError

from config.celery import app
from core.outbox import OutboxTask

# Tasks sent through the outbox (core.outbox.task_enqueue) must acknowledge late: their lease and the broker both
# give them back if a worker dies.
THROUGH_THE_OUTBOX = {
    "channels.tasks.sync_run_execute",
    "channels.tasks.shipment_tell",
    "orders.tasks.orders_allocate_task",
    "purchasing.tasks.suggestions_compute_task",
    "warehouse.tasks.wave_labels_task",
}


def our_tasks() -> dict[str, object]:
    local = [
        config.name
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(settings.BASE_DIR) and ".venv" not in Path(config.path).parts
    ]
    for name in local:
        if importlib.util.find_spec(f"{name}.tasks") is not None:
            importlib.import_module(f"{name}.tasks")
    return {name: task for name, task in app.tasks.items() if name.split(".")[0] in local}


def decorator_of(task) -> str:
    """The source of the task's @shared_task(...) call, where its decisions are written."""
    source = inspect.getsource(task.run)
    return source[: source.index("def ")]


def test_every_task_of_ours_decides_late_acks_and_time_limits_in_its_own_decorator():
    tasks = our_tasks()
    assert THROUGH_THE_OUTBOX | {"core.tasks.outbox_drain_task", "core.heartbeat_record"} <= set(tasks)
    for name, task in tasks.items():
        decorator = decorator_of(task)
        assert "acks_late=" in decorator, f"{name} must say whether it acknowledges late, and why"
        assert "time_limit=" in decorator and "soft_time_limit=" in decorator, f"{name} needs its time limits"
        assert 0 < task.soft_time_limit < task.time_limit <= settings.CELERY_VISIBILITY_TIMEOUT, name
        assert isinstance(task, OutboxTask), name
    assert {name for name, task in tasks.items() if task.acks_late} == THROUGH_THE_OUTBOX | {"core.heartbeat_record"}


def test_retries_are_for_transient_errors_bounded_and_spaced_out():
    retrying = {name: task for name, task in our_tasks().items() if getattr(task, "autoretry_for", ())}
    assert set(retrying) >= THROUGH_THE_OUTBOX
    for name, task in retrying.items():
        assert tuple(task.autoretry_for) == (OperationalError, InterfaceError), name
        assert (task.max_retries, task.retry_backoff, task.retry_backoff_max, task.retry_jitter) == (5, 2, 300, True)
        # The longest wait plus the run itself stays within the time Redis keeps a message invisible.
        assert task.retry_backoff_max + task.time_limit < settings.CELERY_VISIBILITY_TIMEOUT, name


def test_workers_take_one_message_at_a_time_and_give_back_what_a_dead_process_held():
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert settings.CELERY_TASK_ACKS_LATE is False  # decided per task instead
    assert settings.CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS is True
    assert settings.CELERY_TASK_SERIALIZER == "json" and settings.CELERY_ACCEPT_CONTENT == ["json"]
    assert settings.OUTBOX_RESEND_AFTER == 600


@pytest.mark.parametrize("name", sorted(THROUGH_THE_OUTBOX))
def test_outbox_tasks_take_json_arguments_only(name):
    """What the outbox stores is JSON: the tasks it sends take ids and lists of ids, nothing else."""
    task = our_tasks()[name]
    for parameter in inspect.signature(task.run).parameters.values():
        assert parameter.annotation in {"int", "list[int] | None"}, (name, parameter)

"""The task outbox: tasks that must not be lost are written to a table in the caller's transaction, then sent.

``task_enqueue(task, *args, **kwargs)`` writes a ``TaskOutbox`` row with the work that asks for it (so the task
exists exactly when that work was committed) and, once the transaction commits, tries to send it to the broker at
once. If the broker cannot be reached the caller does not notice: the row stays unsent and ``outbox_drain`` (a
periodic task every 30 seconds, and ``manage.py serve`` at start) sends it later.

A row is finished only when a worker has run its task. The worker (``OutboxTask``, the base of every task of the
Celery app) finds the row by the task id, marks it started and holds a PostgreSQL advisory lock on it while the
task runs: the lease. A worker that dies (SIGKILL, out of memory, the machine gone) loses its database session and
with it the lease, so the drain sees "started, not done, no lease" and sends the task again; a message a broker lost
(sent, never started) is sent again after ``OUTBOX_RESEND_AFTER`` seconds. The same message delivered twice is run
once: a worker skips a row that is done or whose lease another worker holds. Tasks sent this way must still be
idempotent (the drain may send a task whose first message later turns up): docs/queue.md lists which are and how.

Two drains at once never send the same row: each takes its rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` and
sends them before it commits; the send right after commit takes its row the same way.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from functools import partial
from typing import Any

from celery import Task, current_app
from celery.exceptions import Retry
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

logger = logging.getLogger(__name__)

# The advisory lock of a row being run is (LEASE_CLASS, id mod LEASE_MOD): two int4 keys, so pg_locks shows them as
# classid/objid with objsubid 2, apart from the single-key locks other modules take.
LEASE_CLASS = 0x5EAB
LEASE_MOD = 2_147_483_647
DRAIN_BATCH = 200
# Finished rows are kept this long (to see what ran), then deleted by the drain.
KEEP_DONE = timedelta(days=7)
# How long a send may wait for a broker that is down before the row is left to the drain.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}

_LEASE_HELD = RawSQL(
    "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objsubid = 2 "
    "AND objid::bigint = core_taskoutbox.id %% %s)",
    (LEASE_CLASS, LEASE_MOD),
)


def task_enqueue(task: Any, /, *args: Any, **kwargs: Any):
    """Queue ``task`` (a task or its registered name) with JSON arguments: a row written in the caller's transaction,
    sent when it commits (or by the drain, if the broker is down then). Returns the ``TaskOutbox`` row; its
    ``task_id`` is the id the task will run under."""
    from core.outbox_models import TaskOutbox

    name = task if isinstance(task, str) else task.name
    row = TaskOutbox.objects.create(task_name=name, args=list(args), kwargs=kwargs)
    transaction.on_commit(partial(_send_after_commit, row.pk))
    return row


def _send_after_commit(pk: int) -> None:
    """Send one row just committed, unless a drain took it first. Never raises: a broker that is down leaves the row
    to the drain, and the caller's request or task goes on."""
    from core.outbox_models import TaskOutbox

    try:
        with transaction.atomic():
            row = TaskOutbox.objects.select_for_update(skip_locked=True).filter(pk=pk, sent_at__isnull=True).first()
            if row is not None:
                _send(row)
    except Exception:  # the database itself failing here: the drain will find the row
        logger.exception("Task outbox row %s could not be sent after commit", pk)


def _send(row) -> bool:
    """Publish ``row`` (locked by the caller) and note the outcome on it; True if the broker took it."""
    try:
        current_app.send_task(
            row.task_name,
            args=row.args,
            kwargs=row.kwargs,
            task_id=str(row.task_id),
            retry=True,
            retry_policy=PUBLISH_RETRY_POLICY,
        )
    except Exception as error:
        row.last_error = f"{error.__class__.__name__}: {error}"[:2000]
        row.save(update_fields=["last_error"])
        logger.warning("Task %s (outbox row %s) not sent, the drain will try again: %s", row.task_name, row.pk, error)
        return False
    row.sent_at = timezone.now()
    row.started_at = None
    row.attempts += 1
    row.last_error = ""
    row.save(update_fields=["sent_at", "started_at", "attempts", "last_error"])
    return True


def outbox_due():
    """The rows to send: never sent; sent long ago and never started (a lost message); or started by a worker that
    is gone (its lease released), while they have been sent fewer than OUTBOX_MAX_SENDS times."""
    from core.outbox_models import TaskOutbox

    resend_before = timezone.now() - timedelta(seconds=settings.OUTBOX_RESEND_AFTER)
    return (
        TaskOutbox.objects.filter(done_at__isnull=True)
        .annotate(leased=_LEASE_HELD)
        .filter(
            Q(sent_at__isnull=True)
            | Q(attempts__lt=settings.OUTBOX_MAX_SENDS)
            & (Q(started_at__isnull=True, sent_at__lt=resend_before) | Q(started_at__isnull=False, leased=False))
        )
    )


def outbox_drain(*, limit: int = DRAIN_BATCH) -> dict[str, int]:
    """Send the rows due (oldest first, at most ``limit``), skipping rows another drain holds; stop at the first the
    broker refuses (it is down: the next drain tries again). Returns {"sent", "unsent", "pruned"}."""
    from core.outbox_models import TaskOutbox

    sent = unsent = 0
    with transaction.atomic():
        rows = list(outbox_due().select_for_update(skip_locked=True, of=("self",)).order_by("pk")[:limit])
        for row in rows:
            if _send(row):
                sent += 1
            else:
                unsent = len(rows) - sent
                break
    pruned, _ = TaskOutbox.objects.filter(done_at__lt=timezone.now() - KEEP_DONE).delete()
    if sent or unsent:
        logger.info("Task outbox drained: %d sent, %d left unsent", sent, unsent)
    return {"sent": sent, "unsent": unsent, "pruned": pruned}


# --- The worker's side ----------------------------------------------------------------------------------------------

_SKIP = object()


def _lease_take(task_id: str | None):
    """The outbox row id of the task about to run, leased; None if the task did not come from the outbox; _SKIP if
    its row is done or another worker holds its lease (the same message delivered twice)."""
    try:
        task_uuid = uuid.UUID(str(task_id))
    except ValueError:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, done_at IS NOT NULL FROM core_taskoutbox WHERE task_id = %s", [task_uuid])
        found = cursor.fetchone()
        if found is None:
            return None
        pk, done = found
        if done:
            return _SKIP
        cursor.execute("SELECT pg_try_advisory_lock(%s, (%s %% %s)::int)", [LEASE_CLASS, pk, LEASE_MOD])
        if not cursor.fetchone()[0]:
            return _SKIP
        cursor.execute("UPDATE core_taskoutbox SET started_at = now() WHERE id = %s", [pk])
    return pk


def _lease_end(pk: int, *, done: bool, error: str = "") -> None:
    with connection.cursor() as cursor:
        try:
            if done:
                cursor.execute(
                    "UPDATE core_taskoutbox SET done_at = now(), last_error = %s WHERE id = %s", [error[:2000], pk]
                )
            else:  # a retry is on its way: the row waits for it like a row just sent
                cursor.execute("UPDATE core_taskoutbox SET started_at = NULL, sent_at = now() WHERE id = %s", [pk])
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s, (%s %% %s)::int)", [LEASE_CLASS, pk, LEASE_MOD])


class OutboxTask(Task):
    """The base of every task of the Celery app: a task sent through the outbox runs under its row's lease and
    finishes its row; any other task (beat's, a direct call, an eager one) runs as it is."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        if request.called_directly or request.is_eager or connection.in_atomic_block:
            return super().__call__(*args, **kwargs)
        lease = _lease_take(request.id)
        if lease is _SKIP:
            logger.info("Task %s[%s] skipped: done already or running in another worker", self.name, request.id)
            return None
        if lease is None:
            return super().__call__(*args, **kwargs)
        try:
            result = super().__call__(*args, **kwargs)
        except Retry:
            _lease_end(lease, done=False)
            raise
        except BaseException as error:
            _lease_end(lease, done=True, error=f"{error.__class__.__name__}: {error}")
            raise
        _lease_end(lease, done=True)
        return result

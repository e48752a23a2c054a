"""Core's tasks: the heartbeat (proves a worker is consuming the queue and can reach the database) and the outbox
drain; and the retry settings every task of ours uses for transient errors."""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from core.outbox import outbox_drain

# Retry only what passes by itself (the database restarting or a dropped connection), a few times, waiting 2, 4,
# 8 ... seconds (with jitter, at most 5 minutes); anything else is a bug or bad data and fails at once.
RETRY_TRANSIENT: dict[str, Any] = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 5 * 60,
    "retry_jitter": True,
    "max_retries": 5,
}

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def heartbeat_path(token: str, data_dir: Path | None = None) -> Path:
    """Where the heartbeat for ``token`` is written (under the worker's SEABRIDGE_DATA_DIR)."""
    if not TOKEN_RE.match(token):
        raise ValueError(f"Heartbeat token {token!r} must be 1 to 64 letters, digits, - or _.")
    return Path(data_dir or settings.DATA_DIR) / "celery" / "heartbeats" / f"{token}.json"


# Late ack: writing the same file again is harmless.
@shared_task(name="core.heartbeat_record", ignore_result=True, time_limit=60, soft_time_limit=30, acks_late=True)
def heartbeat_record(token: str) -> dict[str, Any]:
    """Write which worker ran this, when, and on which database, to ``heartbeat_path(token)``.

    Send it with ``celery -A config call core.heartbeat_record --args '["check-1"]'`` and look for the file.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        (database,) = cursor.fetchone()
    heartbeat = {
        "token": token,
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "database": database,
        "time": timezone.now().isoformat(),
    }
    path = heartbeat_path(token)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed, so a reader never sees half a file.
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(heartbeat), encoding="utf-8")
    os.replace(partial, path)
    return heartbeat


# Early ack: the next tick (every 30 seconds) is its retry; two at once never send a row twice (SKIP LOCKED).
@shared_task(name="core.tasks.outbox_drain_task", time_limit=5 * 60, soft_time_limit=4 * 60, acks_late=False)
def outbox_drain_task() -> dict[str, int]:
    """Send the outbox's tasks the broker has not taken, lost, or whose worker died (core.outbox)."""
    return outbox_drain()


# Early ack: hourly from beat, whose next run is its retry; deleting expired records twice deletes nothing more.
@shared_task(
    name="core.tasks.idempotency_records_expire_task", time_limit=10 * 60, soft_time_limit=9 * 60, acks_late=False
)
def idempotency_records_expire_task() -> int:
    """Delete the records of Idempotency-Keys past their time (core.idempotency); idempotent, so acks early."""
    from core.idempotency import idempotency_records_expire

    return idempotency_records_expire()


# Early ack: hourly from beat, whose next run is its retry; pruning twice deletes nothing more.
@shared_task(
    name="core.tasks.throttle_counters_prune_task", time_limit=10 * 60, soft_time_limit=9 * 60, acks_late=False
)
def throttle_counters_prune_task() -> int:
    """Delete the login and API throttle counters of clients not seen for a day (core.throttle)."""
    from core.throttle import throttle_counters_prune

    return throttle_counters_prune()

"""Celery smoke task: proves a worker is consuming the queue and can reach the database."""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import connection
from django.utils import timezone

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def heartbeat_path(token: str, data_dir: Path | None = None) -> Path:
    """Where the heartbeat for ``token`` is written (under the worker's SEABRIDGE_DATA_DIR)."""
    if not TOKEN_RE.match(token):
        raise ValueError(f"Heartbeat token {token!r} must be 1 to 64 letters, digits, - or _.")
    return Path(data_dir or settings.DATA_DIR) / "celery" / "heartbeats" / f"{token}.json"


@shared_task(name="core.heartbeat_record", ignore_result=True, time_limit=60, soft_time_limit=30)
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

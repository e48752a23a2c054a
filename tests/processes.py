"""Helpers for tests that start real processes (servers, Celery workers): waiting, ports, database URLs."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest


def wait_for(condition: Callable[[], Any], *, deadline_seconds: float, describe: Callable[[], str]) -> Any:
    """Poll ``condition`` until it returns something truthy and return that, or fail with ``describe()``."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(describe())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for a Django database; ``connection.settings_dict`` during a test names the test database."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    name = quote(settings_dict["NAME"], safe="")
    host = settings_dict.get("HOST") or ""
    if host.startswith("/"):
        return f"postgresql://{user}:{password}@/{name}?host={quote(host, safe='/')}"
    port = settings_dict.get("PORT") or 5432
    return f"postgresql://{user}:{password}@{host or 'localhost'}:{port}/{name}"


def process_stop(process: subprocess.Popen, *, timeout: float = 30) -> None:
    """SIGTERM (a warm shutdown), waited for up to ``timeout``; then SIGKILL. Nothing if it has ended already."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

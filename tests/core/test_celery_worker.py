"""A real Celery worker process runs a task sent from the test, on the test's broker and the test's database.

The broker is kombu's filesystem transport in a fresh folder, or CELERY_BROKER_URL when it is set (CI's
second run uses Redis). The worker listens on a queue of its own, so other workers on the same broker
cannot take the task.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from kombu import Exchange, Queue

from core.tasks import heartbeat_path
from tests.processes import database_url, process_stop, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

WORKER_START_DEADLINE = 90.0


def broker_settings(data_dir: Path) -> tuple[str, dict]:
    """The broker URL and transport options both the worker (through settings) and this test will use."""
    url = os.environ.get("CELERY_BROKER_URL", "").strip()
    if url:
        return url, {}
    queue_folder = data_dir / "celery" / "queue"
    control_folder = data_dir / "celery" / "control"
    for folder in (queue_folder, control_folder):
        folder.mkdir(parents=True, exist_ok=True)
    return "filesystem://", {
        "data_folder_in": str(queue_folder),
        "data_folder_out": str(queue_folder),
        "control_folder": str(control_folder),
    }


def test_a_real_worker_runs_a_task_sent_from_the_test_on_the_same_database(tmp_path):
    token = f"test-{uuid.uuid4().hex}"
    queue = f"heartbeat-{token}"
    broker_url, transport_options = broker_settings(tmp_path)
    environment = {
        **os.environ,
        "SEABRIDGE_DATA_DIR": str(tmp_path),
        "DATABASE_URL": database_url(connection.settings_dict),
        "SEABRIDGE_TESTING": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "worker.log"
    command = [
        sys.executable,
        "-m",
        "celery",
        "--app",
        "config",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        "1",
        "--queues",
        queue,
        "--hostname",
        f"{token}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    sender = Celery("heartbeat-test", broker=broker_url, set_as_current=False)
    sender.conf.broker_transport_options = transport_options
    with log_path.open("wb") as log:
        worker = subprocess.Popen(command, cwd=settings.BASE_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        sender.send_task("core.heartbeat_record", kwargs={"token": token}, queue=queue)
        written = heartbeat_path(token, tmp_path)

        wait_for(
            lambda: written.exists() or worker.poll() is not None or "raised unexpected" in log_path.read_text(),
            deadline_seconds=WORKER_START_DEADLINE,
            describe=lambda: f"No heartbeat within {WORKER_START_DEADLINE:g} s. Worker log:\n{log_path.read_text()}",
        )

        assert written.exists(), f"The worker failed:\n{log_path.read_text()}"
        heartbeat = json.loads(written.read_text())
        assert heartbeat["token"] == token
        assert heartbeat["database"] == connection.settings_dict["NAME"]
        worker_processes = {worker.pid} | {child.pid for child in psutil.Process(worker.pid).children(recursive=True)}
        assert heartbeat["pid"] in worker_processes
        assert heartbeat["pid"] != os.getpid()
    finally:
        process_stop(worker)
        # Declared again on this connection so the transport knows the bindings it has to remove with it.
        with sender.connection_for_write() as broker:
            test_queue = Queue(queue, Exchange(queue), routing_key=queue).bind(broker.default_channel)
            test_queue.declare()
            test_queue.delete()
    assert worker.returncode == 0, log_path.read_text()

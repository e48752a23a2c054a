"""Real Celery workers for the crash and outbox tests: started on the test's database and broker, each on a queue of
its own, killed or stopped; and what this process sends, pointed at one of them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from celery import Celery
from django.conf import settings
from django.db import connection

from core.outbox_models import TaskOutbox
from tests.processes import database_url, wait_for

DEADLINE = 120.0


class Worker:
    """A Celery worker process (one pool child) on the test's database and broker, on a queue of its own."""

    def __init__(self, data_dir: Path, name: str) -> None:
        self.queue = f"crash-{name}-{uuid.uuid4().hex[:12]}"
        self.log_path = data_dir / f"worker-{name}.log"
        environment = {
            **os.environ,
            "SEABRIDGE_DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url(connection.settings_dict),
            "SEABRIDGE_TESTING": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "CHANNEL_HTTP_BACKOFF": "0.01",
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            sys.executable, "-m", "celery", "--app", "config", "worker", "--loglevel", "INFO", "--concurrency", "1",
            "--queues", self.queue, "--hostname", f"{self.queue}@%h", "--without-gossip", "--without-mingle",
            "--without-heartbeat",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=settings.BASE_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT
            )

    def stop_begin(self) -> None:
        if not self.dead():
            self.process.send_signal(signal.SIGTERM)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def dead(self) -> bool:
        return self.process.poll() is not None

    def ready(self) -> bool:
        return " ready." in self.log() or self.dead()

    def kill(self) -> None:
        """SIGKILL the main process first (so it cannot give the message back), then its pool child."""
        children = psutil.Process(self.process.pid).children(recursive=True)
        assert children, "a prefork worker has a pool child"
        self.process.send_signal(signal.SIGKILL)
        for child in children:
            child.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        psutil.wait_procs(children, timeout=30)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), waited for; ``stop_begin`` first lets several stop at once."""
        self.stop_begin()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Broker:
    url: str
    options: dict[str, Any]
    queues: list[str]

    def send_to(self, queue: str) -> None:
        """Make what this process sends (the outbox's sends and drains) go to ``queue`` on the test's broker."""
        app = Celery(f"crash-test-{queue}", broker=self.url, set_as_current=False)
        app.conf.broker_transport_options = self.options
        app.conf.task_default_queue = queue
        app.set_current()
        self.queues.append(queue)


def outbox_rows() -> list[tuple]:
    return list(TaskOutbox.objects.values_list("task_name", "attempts", "started_at", "done_at", "last_error"))


def outbox_finished(worker: Worker) -> None:
    wait_for(
        lambda: not TaskOutbox.objects.filter(done_at__isnull=True).exists() or worker.dead(),
        deadline_seconds=DEADLINE,
        describe=lambda: f"Tasks left undone: {outbox_rows()}\nWorker log:\n{worker.log()}",
    )
    assert not worker.dead(), worker.log()
    assert set(TaskOutbox.objects.values_list("last_error", flat=True)) == {""}, outbox_rows()

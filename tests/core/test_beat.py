"""Celery beat outlasts the database being away (core/beat.py): it waits for it at start instead of exiting, sends
what is due while it is away, and keeps its schedule when a read fails.

The database is made unreachable for real: beat reaches PostgreSQL through a TCP relay on 127.0.0.1 that this test
opens and closes (refused connections, then dropped ones), and the in-process test points its connection at a
port nobody listens on."""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from celery import current_app
from django.conf import settings
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import SCHEDULE_SYNC_MAX_INTERVAL

from core.beat import Scheduler
from tests.processes import free_port, process_stop, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TASK = "seabridge.tests.beat_tick"  # beat sends it by name; no worker needs to know it
DEADLINE = 60.0


class Relay:
    """A TCP relay on 127.0.0.1 to the test's PostgreSQL (its TCP port, or the embedded server's socket): closed
    until ``open()``, and ``close()`` drops every connection through it, as a database going away does."""

    def __init__(self, settings_dict: dict) -> None:
        self.port = free_port()
        host, port = settings_dict.get("HOST") or "127.0.0.1", int(settings_dict.get("PORT") or 5432)
        self.target = (
            (socket.AF_UNIX, f"{host}/.s.PGSQL.{port}") if host.startswith("/") else (socket.AF_INET, (host, port))
        )
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def open(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def close(self) -> None:
        for sock in [self.listener, *self.sockets]:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self.listener, self.sockets = None, []

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return  # closed
            family, address = self.target
            server = socket.socket(family, socket.SOCK_STREAM)
            server.connect(address)
            self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def sent(queue_dir: Path) -> int:
    """How many messages of the test's task beat has put in the filesystem broker's folder."""
    return sum(TASK in path.read_text(errors="replace") for path in queue_dir.glob("*.msg"))


def test_beat_waits_for_the_database_at_start_and_sends_what_is_due_while_it_is_away(tmp_path):
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="beat test tick", task=TASK, interval=every_second)
    relay = Relay(connection.settings_dict)
    name = connection.settings_dict["NAME"]
    environment = {
        key: value for key, value in os.environ.items() if key not in ("CELERY_BROKER_URL", "CELERY_TASK_DEFAULT_QUEUE")
    }
    environment.update(
        {
            "DATABASE_URL": f"postgresql://{connection.settings_dict.get('USER') or ''}@127.0.0.1:{relay.port}/{name}",
            "SEABRIDGE_DATA_DIR": str(tmp_path),  # the filesystem broker, in tmp_path/celery/queue
            "SEABRIDGE_TESTING": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONUNBUFFERED": "1",
        }
    )
    log_path, queue_dir = tmp_path / "beat.log", tmp_path / "celery" / "queue"
    command = [
        sys.executable, "-m", "celery", "--app", "config", "beat", "--loglevel", "INFO", "--max-interval", "1",
        "--pidfile", str(tmp_path / "beat.pid"),
    ]  # fmt: skip
    with log_path.open("wb") as log:
        beat = subprocess.Popen(command, cwd=settings.BASE_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT)
    read_log = lambda: log_path.read_text(errors="replace")  # noqa: E731
    try:
        # The database is not there: beat says so and tries again, rather than exiting.
        wait_for(
            lambda: read_log().count("the database cannot be reached") >= 2 or beat.poll() is not None,
            deadline_seconds=DEADLINE,
            describe=lambda: f"beat did not retry:\n{read_log()}",
        )
        assert beat.poll() is None, read_log()
        assert "trying again in 1 s" in read_log() and "trying again in 2 s" in read_log()
        assert sent(queue_dir) == 0

        # It comes: beat reads the schedule and sends what is due.
        relay.open()
        wait_for(
            lambda: sent(queue_dir) >= 1, deadline_seconds=DEADLINE, describe=lambda: f"nothing sent:\n{read_log()}"
        )
        assert "the schedule is read from the database" in read_log()

        # It goes away again: beat goes on sending, every second, from the schedule it has.
        relay.close()
        before = sent(queue_dir)
        wait_for(
            lambda: sent(queue_dir) >= before + 3 or beat.poll() is not None,
            deadline_seconds=DEADLINE,
            describe=lambda: f"beat stopped sending without the database:\n{read_log()}",
        )
        assert beat.poll() is None, read_log()
    finally:
        relay.close()
        process_stop(beat)


def test_a_failed_read_of_the_schedule_keeps_the_one_beat_has_and_reads_again_at_the_next_tick(caplog):
    every_minute = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="beat test tick", task=TASK, interval=every_minute)
    scheduler = Scheduler(app=current_app, lazy=True)
    first = scheduler.schedule
    assert "beat test tick" in first

    # Five minutes later the full read is due, and the database is not there (nothing listens on its port).
    scheduler._last_full_sync = datetime.datetime.now() - datetime.timedelta(seconds=SCHEDULE_SYNC_MAX_INTERVAL)
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": str(free_port())})
    try:
        with caplog.at_level(logging.WARNING, logger="core.beat"):
            assert scheduler.schedule is first
            assert scheduler.schedule is first
        warnings = [record.getMessage() for record in caplog.records if record.name == "core.beat"]
        assert len(warnings) == 1 and "goes on with the schedule it has" in warnings[0], warnings
        # The next tick reads it in full again, not five minutes later.
        waited = (datetime.datetime.now() - scheduler._last_full_sync).total_seconds()
        assert waited >= SCHEDULE_SYNC_MAX_INTERVAL
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)

    PeriodicTask.objects.create(name="beat test second", task=TASK, interval=every_minute)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="core.beat"):
        again = scheduler.schedule
    assert {"beat test tick", "beat test second"} <= set(again)
    assert [record.getMessage() for record in caplog.records if record.name == "core.beat"] == [
        "beat: the database is back; the schedule is read again."
    ]

"""The README's `make run`, for real: a fresh data folder, its own embedded PostgreSQL, web + worker + beat, Ctrl-C.

DATABASE_URL and CELERY_BROKER_URL are removed from the environment of `make run`, so this proves the
no-server default even when the rest of the suite runs on a PostgreSQL server and Redis.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest
from celery import Celery
from django.conf import settings
from kombu import Connection

from config.database import embedded_database_stop
from core.tasks import heartbeat_path
from demo import catalogue
from tests.processes import database_url, free_port, wait_for

pytestmark = pytest.mark.slow

BASE_DIR = Path(settings.BASE_DIR)
# A fresh embedded PostgreSQL is initialised and every migration applied before the server starts.
START_DEADLINE = 240.0
STOP_DEADLINE = 45.0
TOKEN_RE = re.compile(r"API token\s+(sb_[0-9a-f]{8}_[A-Za-z0-9_-]{43})")
LOGIN_RE = re.compile(r"Login\s+admin / (\S+)")
# Variables of the test run that must not leak into a newcomer's `make run`.
NOT_PASSED_ON = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "SEABRIDGE_TESTING",
    "SEABRIDGE_ADMIN_PASSWORD",
    "DEBUG",
    "XDG_RUNTIME_DIR",
    "MAKEFLAGS",
    "MAKELEVEL",
    "MFLAGS",
)


def fetch(url: str, *, token: str | None = None) -> tuple[int, str]:
    """Status and body of a GET; (0, reason) while nothing listens yet."""
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
        return 0, str(error)


def make_run_environment(data_dir: Path) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if name not in NOT_PASSED_ON}
    environment["SEABRIDGE_DATA_DIR"] = str(data_dir)
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


def stop_everything(process: subprocess.Popen, processes: list[psutil.Process]) -> None:
    """Last resort after a failure, so a broken run does not leave servers behind on the machine."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for leftover in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            leftover.kill()


@pytest.fixture
def fresh_data_dir():
    """A data folder of its own; its embedded PostgreSQL is stopped and the folder removed afterwards.

    Not pytest's tmp_path: the embedded server runs as another user when tests run as root, and would need
    pytest's private base folders opened up to reach it.
    """
    data_dir = Path(tempfile.mkdtemp(prefix="seabridge-run-"))
    yield data_dir
    embedded_database_stop(data_dir / "pg")
    shutil.rmtree(data_dir, ignore_errors=True)


def test_make_run_serves_api_and_admin_runs_tasks_and_stops_everything_on_ctrl_c(fresh_data_dir):
    port = free_port()
    log_path = fresh_data_dir / "make-run.log"
    log = lambda: log_path.read_text(errors="replace")  # noqa: E731
    # --assume-old: the virtualenv running this test is the one `make install` makes; the suite must not
    # reach a package registry. Everything after installing is exactly `make run`.
    command = ["make", "--no-print-directory", "--assume-old=.venv/.installed-stamp", "run", f"PORT={port}"]
    with log_path.open("wb") as output:
        # A session of its own stands in for the terminal: Ctrl-C goes to its whole foreground group.
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=make_run_environment(fresh_data_dir),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    descendants: list[psutil.Process] = []
    try:
        base = f"http://127.0.0.1:{port}"
        token = wait_for(
            lambda: (found := TOKEN_RE.search(log())) and found.group(1),
            deadline_seconds=START_DEADLINE,
            describe=lambda: f"`make run` printed no API token in {START_DEADLINE:g} s:\n{log()}",
        )
        assert process.poll() is None, log()
        wait_for(
            lambda: fetch(f"{base}/api/schema/")[0] == 200 or process.poll() is not None,
            deadline_seconds=START_DEADLINE,
            describe=lambda: f"/api/schema/ did not answer 200:\n{log()}",
        )
        assert process.poll() is None, log()
        output = log()
        # Its own embedded PostgreSQL in the fresh data folder, not the suite's database.
        assert f"Database: embedded PostgreSQL, socket in {fresh_data_dir / 'pg'}" in output
        assert (fresh_data_dir / "pg" / "PG_VERSION").exists()
        assert f"Home        http://127.0.0.1:{port}/" in output
        assert "Seabridge is running; Ctrl-C stops everything." in output

        status, schema = fetch(f"{base}/api/schema/")
        assert status == 200 and "openapi:" in schema and "/api/v1/products/" in schema
        # The root leads to the admin's home page, which asks a newcomer to log in first.
        status, login_page = fetch(f"{base}/")
        assert status == 200
        assert 'name="username"' in login_page and 'name="password"' in login_page
        # whitenoise serves the admin's static files from the same process.
        assert fetch(f"{base}/static/admin/css/base.css")[0] == 200
        # The API docs load Swagger UI from our own static files (the machine may have no internet).
        status, docs_page = fetch(f"{base}/api/docs/")
        assert status == 200 and "cdn.jsdelivr" not in docs_page
        bundle = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
        assert bundle in docs_page
        assert fetch(f"{base}{bundle}")[0] == 200
        assert fetch(f"{base}/api/v1/products/")[0] in (401, 403)
        status, body = fetch(f"{base}/api/v1/products/", token=token)
        assert status == 200, body
        assert json.loads(body)["count"] == len(catalogue.PRODUCTS) + len(catalogue.BUNDLES)

        # The worker started by `make run` consumes the filesystem queue in the data folder.
        heartbeat_token = f"make-run-{uuid.uuid4().hex}"
        queue_folder = fresh_data_dir / "celery" / "queue"
        # An explicit connection: Celery would take CELERY_BROKER_URL from this test's environment over any setting.
        queue_broker = Connection(
            "filesystem://",
            transport_options={
                "data_folder_in": str(queue_folder),
                "data_folder_out": str(queue_folder),
                "control_folder": str(fresh_data_dir / "celery" / "control"),
            },
        )
        with queue_broker:
            Celery("make-run-test", set_as_current=False).send_task(
                "core.heartbeat_record", kwargs={"token": heartbeat_token}, connection=queue_broker
            )
        written = heartbeat_path(heartbeat_token, fresh_data_dir)
        wait_for(
            written.exists,
            deadline_seconds=60,
            describe=lambda: f"The worker of `make run` ran no task:\n{log()}",
        )
        assert json.loads(written.read_text())["database"] == "postgres"

        descendants = [
            child for child in psutil.Process(process.pid).children(recursive=True) if child.name() != "postgres"
        ]
        command_lines = [" ".join(child.cmdline()) for child in descendants]
        assert any("gunicorn config.wsgi" in line for line in command_lines), command_lines
        assert any("celery --app config worker" in line for line in command_lines), command_lines
        assert any("celery --app config beat" in line for line in command_lines), command_lines

        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does

        try:
            process.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            pytest.fail(f"`make run` did not exit within {STOP_DEADLINE:g} s of Ctrl-C:\n{log()}")
        _, alive = psutil.wait_procs(descendants, timeout=STOP_DEADLINE)
        assert alive == [], f"Still running after Ctrl-C: {alive}\n{log()}"
        assert "Seabridge stopped." in log()
    finally:
        stop_everything(process, descendants)

    # A second start reuses the database, the demo data and the admin password.
    first_password = LOGIN_RE.search(log()).group(1)
    again = subprocess.run(
        [sys.executable, "manage.py", "bootstrap", "--port", str(port)],
        cwd=BASE_DIR,
        env={**make_run_environment(fresh_data_dir), "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=START_DEADLINE,
        check=True,
    )
    assert "Migrations: up to date." in again.stdout
    assert "Demo data: already loaded." in again.stdout
    assert LOGIN_RE.search(again.stdout).group(1) == first_password
    # Keys are kept hashed, so none can be printed twice: each start prints a new token and revokes the one before
    # (tests/demo/test_bootstrap.py proves the old key is refused and the new one works).
    assert TOKEN_RE.search(again.stdout).group(1) != token


def test_serve_stops_the_others_and_fails_when_one_process_dies(tmp_path):
    # Something else holds the port, so gunicorn cannot start; the worker must not be left running alone.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        environment = {
            **{name: value for name, value in os.environ.items() if name not in NOT_PASSED_ON},
            "SEABRIDGE_DATA_DIR": str(tmp_path),
            # Nothing here queries the database; the URL only keeps a temporary embedded server from starting.
            "DATABASE_URL": database_url(settings.DATABASES["default"]),
            "SEABRIDGE_TESTING": "1",
        }
        log_path = tmp_path / "serve.log"
        with log_path.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--port", str(port), "--no-beat", "--stop-timeout", "20"],
                cwd=BASE_DIR,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        children: list[psutil.Process] = []
        try:
            wait_for(
                lambda: "Seabridge is running" in log_path.read_text() or process.poll() is not None,
                deadline_seconds=60,
                describe=lambda: f"serve did not start its processes:\n{log_path.read_text()}",
            )
            children = psutil.Process(process.pid).children(recursive=True) if process.poll() is None else []
            returncode = process.wait(timeout=90)
        finally:
            stop_everything(process, children)
    output = log_path.read_text()
    assert returncode == 1, output
    assert "web exited with code" in output
    assert "Stopping worker" in output
    worker_pid = int(re.search(r"worker\s+pid (\d+)", output).group(1))
    assert not psutil.pid_exists(worker_pid) or psutil.Process(worker_pid).status() == psutil.STATUS_ZOMBIE
    _, alive = psutil.wait_procs(children, timeout=STOP_DEADLINE)
    assert alive == []

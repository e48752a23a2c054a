"""503 with Retry-After, never a 500 or Django's DEBUG page, when the database or the broker cannot be reached; and
the health endpoints (core/availability.py, core/health.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import OperationalError, connection, transaction
from kombu import Connection

from core.availability import unavailability
from tests.processes import free_port, wait_for

BASE_DIR = Path(settings.BASE_DIR)


def _refused_database_error() -> OperationalError:
    """What Django raises when PostgreSQL is not there: a real refused connection, wrapped as Django wraps it."""
    port = free_port()  # nothing listens on it
    try:
        psycopg.connect(f"host=127.0.0.1 port={port} user=postgres connect_timeout=2")
    except psycopg.OperationalError as error:
        try:
            raise OperationalError(str(error)) from error
        except OperationalError as wrapped:
            return wrapped
    raise AssertionError("a connection to a closed port succeeded")


def test_a_refused_database_connection_is_database_unavailable():
    found = unavailability(_refused_database_error())
    assert (found.status_code, found.code, found.retry_after) == (503, "database_unavailable", 5)
    assert found.message == "The database cannot be reached; nothing was saved. Try again in a few seconds."


@pytest.mark.django_db
def test_a_statement_timeout_is_not_an_outage():
    """The database answered (it cancelled a slow query): a server error, not a 503 that invites retries."""
    # In a savepoint, so the test's transaction is usable again afterwards.
    with pytest.raises(OperationalError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 1")
        cursor.execute("SELECT pg_sleep(1)")
    assert unavailability(caught.value) is None


def test_a_refused_broker_is_broker_unavailable():
    broker = Connection(f"redis://127.0.0.1:{free_port()}/0", connect_timeout=1)
    with pytest.raises(Exception) as caught:
        broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    broker.release()
    found = unavailability(caught.value)
    assert (found.status_code, found.code) == (503, "broker_unavailable")


def fetch(url: str, *, method: str = "GET", headers: dict | None = None, body: bytes | None = None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
        return 0, {}, str(error)


@pytest.fixture(scope="module")
def server_without_database():
    """gunicorn, DEBUG on (where Django would show its HTML error page), pointed at a database that is not there
    and at a Redis that is not there."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",
        "DEBUG": "1",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "ERROR",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=BASE_DIR,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: fetch(f"{base}/healthz")[0] == 200 or process.poll() is not None,
            deadline_seconds=60,
            describe=lambda: "gunicorn did not answer /healthz in 60 s",
        )
        assert process.poll() is None
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_api_calls_answer_503_in_the_error_shape(server_without_database):
    base = server_without_database
    # A session's user is looked up inside DRF (its exception handler answers); a keyed write's first query is the
    # Idempotency-Key's lock, before any view (the middleware answers).
    for method, path, body, headers in (
        ("GET", "/api/v1/products/", None, {"Cookie": "sessionid=" + "a" * 32}),
        ("POST", "/api/v1/products/", b'{"sku": "A-1", "name": "A"}', {"Authorization": "Token abc"}),
    ):
        headers = {**headers, "Content-Type": "application/json", "Idempotency-Key": "k-1"}
        status, response_headers, text = fetch(f"{base}{path}", method=method, headers=headers, body=body)
        assert status == 503, text[:500]
        assert (response_headers["Content-Type"], response_headers["Retry-After"]) == ("application/json", "5")
        assert json.loads(text) == {
            "message": "The database cannot be reached; nothing was saved. Try again in a few seconds.",
            "code": "database_unavailable",
            "errors": [],
        }


def test_pages_answer_a_short_503_page_in_the_language_asked(server_without_database):
    # The session is read from the database.
    headers = {"Accept-Language": "en", "Cookie": "sessionid=" + "a" * 32}
    status, headers, text = fetch(f"{server_without_database}/admin/", headers=headers)
    assert status == 503
    assert (headers["Content-Type"], headers["Retry-After"]) == ("text/html; charset=utf-8", "5")
    assert "<h1>Briefly unavailable</h1>" in text
    assert "The database cannot be reached" in text
    assert "Traceback" not in text


def test_healthz_answers_and_readyz_names_what_failed(server_without_database):
    base = server_without_database
    # Any Host header: the probes come before the host check.
    assert fetch(f"{base}/healthz", headers={"Host": "10.1.2.3"})[::2] == (200, '{"status": "ok"}')
    status, headers, text = fetch(f"{base}/readyz", headers={"Host": "10.1.2.3"})
    assert (status, headers["Retry-After"]) == (503, "5")
    body = json.loads(text)
    assert (body["status"], body["failed"]) == ("unavailable", ["database", "migrations", "broker"])
    assert body["checks"]["database"]["status"] == "failed"
    assert body["checks"]["database"]["message"].startswith("OperationalError: ")
    assert body["checks"]["migrations"] == {"status": "unknown", "message": "the database cannot be reached"}
    assert body["checks"]["broker"]["status"] == "failed"


@pytest.mark.django_db
def test_readyz_is_200_when_everything_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": {"status": "ok"}, "migrations": {"status": "ok"}, "broker": {"status": "ok"}},
    }
    assert client.get("/healthz").json() == {"status": "ok"}

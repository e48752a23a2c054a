"""A store's access token in its row: read once per short while, refreshed by one worker at a time on PostgreSQL.

Wish revokes every older token when one is refreshed, so two workers that both find the token refused must not
both call the refresh: the second waits on the store's row lock and takes the token the first saved.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels.adapters.base import AccessToken, TokenGrant
from channels.services import store_create
from channels.tokens import REREAD_AFTER, StoreTokens, store_credentials

WAIT_TIMEOUT = 10
CREDENTIALS = {"client_id": "id", "client_secret": "secret", "access_token": "old", "refresh_token": "refresh-1"}


def wish_store():
    return store_create(channel="wish", name="Wish main", credentials=CREDENTIALS)


def lasting(value: str) -> AccessToken:
    return AccessToken(value=value, expires_at=timezone.now() + timedelta(days=30))


@pytest.mark.django_db
def test_the_token_is_read_from_the_row_once_per_short_while():
    store = wish_store()
    first = StoreTokens(store.pk)
    first.refresh(stale=None, grant=lambda credentials: TokenGrant(access_token=lasting("token-1")))
    tokens = StoreTokens(store.pk)

    with CaptureQueriesContext(connection) as queries:
        assert [tokens.current().value for _ in range(5)] == ["token-1"] * 5
    assert len(queries) == 1

    tokens._read_at -= REREAD_AFTER  # as if the run had gone on that long
    with CaptureQueriesContext(connection) as queries:
        assert tokens.current().value == "token-1"
    assert len(queries) == 1


@pytest.mark.django_db
def test_a_token_another_worker_refreshed_is_taken_without_a_refresh_call():
    store = wish_store()
    mine, other = StoreTokens(store.pk), StoreTokens(store.pk)
    mine.refresh(stale=None, grant=lambda credentials: TokenGrant(access_token=lasting("token-1")))
    assert mine.current().value == "token-1"
    other.refresh(
        stale=other.current(),  # the platform refused token-1 to the other worker
        grant=lambda credentials: TokenGrant(access_token=lasting("token-2"), credentials={"refresh_token": "r-2"}),
    )

    def no_call(credentials):
        raise AssertionError("the platform's refresh was called a second time")

    # Still token-1 in this worker's hands until the platform refuses it; then the row's newer token is taken.
    assert mine.current().value == "token-1"
    assert mine.refresh(stale=mine.current(), grant=no_call).value == "token-2"
    assert mine.current().value == "token-2"
    store.refresh_from_db()
    assert store_credentials(store) == {**CREDENTIALS, "refresh_token": "r-2"}


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _wait_until_blocked(pid: int) -> None:
    deadline = time.monotonic() + WAIT_TIMEOUT
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
            row = cursor.fetchone()
            if row and row[0] == "Lock":
                return
            threading.Event().wait(0.01)  # polling an observable state, not timing a race
    raise AssertionError(f"backend {pid} never waited for the store's row lock")


@pytest.mark.django_db(transaction=True)
def test_two_workers_whose_token_was_refused_refresh_it_once():
    """Worker A holds the row lock inside the platform's refresh call until worker B is seen (in
    pg_stat_activity) waiting for that lock; B then finds A's token and never calls the platform."""
    store = wish_store()
    stale = lasting("old")
    calls: list[str] = []
    pids: dict[str, int] = {}
    pid_known = {name: threading.Event() for name in ("A", "B")}
    a_in_grant = threading.Event()
    results: dict[str, object] = {}

    def grant(worker: str):
        def call(credentials):
            calls.append(worker)
            a_in_grant.set()
            pid_known["B"].wait(WAIT_TIMEOUT)
            _wait_until_blocked(pids["B"])
            return TokenGrant(access_token=lasting(f"new-from-{worker}"), credentials={"refresh_token": "refresh-2"})

        return call

    def work(worker: str) -> None:
        try:
            pids[worker] = _backend_pid()
            pid_known[worker].set()
            if worker == "B":
                a_in_grant.wait(WAIT_TIMEOUT)  # A holds the lock now
            results[worker] = StoreTokens(store.pk).refresh(stale=stale, grant=grant(worker)).value
        except BaseException as error:  # shown by the assertion below
            results[worker] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(worker,), daemon=True) for worker in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT_TIMEOUT * 3)

    assert results == {"A": "new-from-A", "B": "new-from-A"}
    assert calls == ["A"]
    store.refresh_from_db()
    assert store_credentials(store)["refresh_token"] == "refresh-2"
    assert StoreTokens(store.pk).current().value == "new-from-A"

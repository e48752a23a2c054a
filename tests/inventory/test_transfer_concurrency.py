"""A transfer's status under real concurrency: two processes cancel and ship the same draft at the same moment."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from inventory.models import InventoryBalance, StockMove, Transfer, TransferEvent
from inventory.stock_services import stock_receive
from inventory.transfer_services import transfer_create
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory
from tests.inventory.stock_race_workers import WorkerPool

# Races in a row, each on a new draft; either action may win any of them.
ROUNDS = 4
# Held by the test so the winner keeps its transaction (and the transfer's row lock) open; only this test uses it.
HOLD_LOCK_KEY = 6_000_001
# How long the test waits to see one worker blocked behind the other before it gives up.
WAIT_TIMEOUT = 30
TARGET = {"ship": Transfer.Status.SHIPPED, "cancel": Transfer.Status.CANCELLED}


@pytest.fixture(scope="module")
def worker_pair(django_db_setup):
    pool = WorkerPool(size=2, database=connection.settings_dict)
    yield pool
    pool.close()


@dataclass(frozen=True)
class Backend:
    action: str
    pid: int
    wait_event_type: str | None
    wait_event: str | None
    query: str
    blocked_by: list[int]
    # Tables whose row this backend has queued for (PostgreSQL's tuple lock, taken while it waits for the holder).
    rows_queued_for: list[str]


class BlockingWatch:
    """Polled while the workers race: once the winner waits at the test's advisory lock, still holding the
    transfer, and the loser waits for the transfer's row behind it, remember both and let the winner commit.
    """

    def __init__(self) -> None:
        self.deadline = time.monotonic() + WAIT_TIMEOUT
        self.holder: Backend | None = None
        self.waiter: Backend | None = None
        self.released = False

    def __call__(self) -> None:
        if self.released:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT activity.application_name, activity.pid, activity.wait_event_type, activity.wait_event,
                    activity.query, pg_blocking_pids(activity.pid),
                    ARRAY(
                        SELECT lock.relation::regclass::text FROM pg_locks AS lock
                        WHERE lock.pid = activity.pid AND lock.locktype = 'tuple'
                    )
                FROM pg_stat_activity AS activity
                WHERE activity.datname = current_database() AND activity.application_name LIKE %s
                """,
                ["transfer-race-%"],
            )
            backends = [Backend(name.removeprefix("transfer-race-"), *row) for name, *row in cursor.fetchall()]
            holders = [backend for backend in backends if backend.wait_event == "advisory"]
            waiters = [backend for backend in backends if backend.wait_event_type == "Lock" and backend not in holders]
            if len(holders) == 1 and len(waiters) == 1:
                (self.holder,), (self.waiter,) = holders, waiters
            if self.holder or time.monotonic() > self.deadline:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [HOLD_LOCK_KEY])
                self.released = True


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_cancel_and_ship_of_one_draft_at_once_exactly_one_wins_and_leaves_one_event(worker_pair):
    user_model = get_user_model()
    users = {action: user_model.objects.create_user(username=f"race-{action}") for action in TARGET}
    source = WarehouseFactory(code="SZ")
    destination = WarehouseFactory(code="LA", country="US")
    pick = BinFactory(warehouse=source, code="A-01-01-01")
    product = ProductFactory(sku="RACE-1")
    for round_number in range(ROUNDS):
        stock_receive(product=product, bin=pick, quantity=6, reference=f"PO-{round_number}")
        draft = transfer_create(source=source, destination=destination, lines=[(product, 6, None)])
        on_hand_before = InventoryBalance.objects.get(product=product, warehouse=source).on_hand
        jobs = [
            {"transfer_id": draft.pk, "action": action, "user_id": users[action].pk, "hold_lock_key": HOLD_LOCK_KEY}
            for action in TARGET
        ]
        watch = BlockingWatch()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [HOLD_LOCK_KEY])
        try:
            results = worker_pair.run("transfer_status_race", jobs, while_waiting=watch)
        finally:
            if not watch.released:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [HOLD_LOCK_KEY])
        context = f"round {round_number}: {results}"

        # The loser was seen waiting for the transfer's row, held by the winner's open transaction.
        assert watch.holder is not None and watch.waiter is not None, f"never saw one blocked by the other; {context}"
        # pg_stat_activity cuts long statements, so the query shows where it waits and pg_locks shows for what.
        assert watch.waiter.query.startswith('SELECT "inventory_transfer"."id"'), watch.waiter.query
        assert watch.waiter.rows_queued_for == ["inventory_transfer"], context
        assert watch.waiter.blocked_by == [watch.holder.pid], context
        outcomes = {job["action"]: result for job, result in zip(jobs, results, strict=True)}
        winner, loser = watch.holder.action, watch.waiter.action
        assert outcomes[winner] == {"worker": outcomes[winner]["worker"], "outcome": "won", "status": TARGET[winner]}
        assert outcomes[loser] == {
            "worker": outcomes[loser]["worker"],
            "outcome": "refused",
            "code": "invalid_transition",
            "context": {"number": draft.number, "status": TARGET[winner], "requested_status": TARGET[loser]},
        }, context

        draft.refresh_from_db()
        assert draft.status == TARGET[winner]
        assert list(
            TransferEvent.objects.filter(transfer=draft).order_by("id").values_list("from_status", "to_status", "user")
        ) == [("", "draft", None), ("draft", TARGET[winner], users[winner].pk)], context
        shipped = StockMove.objects.filter(reference=draft.number, reason=StockMove.Reason.TRANSFER_OUT)
        assert sum(move.quantity for move in shipped) == (6 if winner == "ship" else 0), context
        on_hand = InventoryBalance.objects.get(product=product, warehouse=source).on_hand
        assert on_hand == on_hand_before - (6 if winner == "ship" else 0), context

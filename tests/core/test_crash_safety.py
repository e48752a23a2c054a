"""A real Celery worker is SIGKILLed (its main process and its pool child) in the middle of an order import, an
allocation run and a label batch; a second worker then takes the work over, and the end state is that of a clean
run: the same rows, nothing twice, nothing lost, stock agreeing with its ledger.

Each kill lands at a point the test observes, never after a sleep: the marketplace simulator is asked for page 2
of the orders (and holds its answer), the allocation waits for a stock balance row the test has locked (seen in
pg_stat_activity), the carrier has made the second parcel and holds its answer. The work comes back through the
task outbox: the dead worker's database session is gone, so its lease on the outbox row is free and the drain (run
here as beat runs it every 30 seconds) sends the task again.

The broker is kombu's filesystem transport in the test's folder, or CELERY_BROKER_URL when set (CI's second run
uses Redis, where the killed worker's message stays unacknowledged until its visibility timeout: the outbox does not
wait for it). Each worker listens on a queue of its own; the second is started beside the first, so the test does
not wait twice for a worker to boot.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from channels.models import SyncRun
from channels.services import sync_request
from channels.simulators.aliexpress import AliExpressSimulator
from channels.sync import run_abandoned
from core.outbox import outbox_drain
from core.outbox_models import TaskOutbox
from core.simulators import SimulatorServer
from inventory.ledger import stock_drift_check
from inventory.models import InventoryBalance, Reservation
from logistics.models import Shipment
from logistics.simulators.yunexpress import YunExpressSimulator
from orders.imports import orders_upsert
from orders.models import Order, OrderEvent, OrderLine, Parcel
from tests.channels.simulated_stores import aliexpress_store
from tests.core.celery_workers import DEADLINE, Broker, Worker, outbox_finished, outbox_rows
from tests.logistics.parcels import post_account, world_with_product_code
from tests.logistics.test_yunexpress import account_for
from tests.orders.factories import line_in, order_in
from tests.orders.test_fulfilment import receive, world_make
from tests.processes import database_url, wait_for
from tests.warehouse.floor import criteria, floor_make
from warehouse.models import Wave
from warehouse.waves import wave_create, wave_release

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workers(tmp_path, broker) -> Iterator[tuple[Worker, Worker]]:
    """The worker to kill and the one that takes over, both booted; this process sends to the first."""
    first, second = Worker(tmp_path, "first"), Worker(tmp_path, "second")
    try:
        for worker in (first, second):
            wait_for(worker.ready, deadline_seconds=DEADLINE, describe=lambda w=worker: f"Not ready:\n{w.log()}")
            assert not worker.dead(), worker.log()
        broker.send_to(first.queue)
        yield first, second
    finally:
        first.stop_begin()
        second.stop_begin()
        first.stop()
        second.stop()


def take_over(broker: Broker, first: Worker, second: Worker) -> int:
    """After the kill: send to the second worker and drain the outbox until the dead worker's task is sent again
    (its lease is freed when PostgreSQL has ended the dead session). Returns how many rows were sent."""
    assert first.dead()
    broker.send_to(second.queue)
    return wait_for(
        lambda: outbox_drain()["sent"],
        deadline_seconds=DEADLINE,
        describe=lambda: f"The outbox sent nothing again. {outbox_rows()}",
    )


class Gate:
    """A WSGI wrapper of a simulator: the ``nth`` request to ``path`` is handled (the platform acts on it), then its
    answer is held until the test releases it; ``held`` is set while it waits."""

    def __init__(self, app: Callable, *, path: str, nth: int) -> None:
        self.app, self.path, self.nth = app, path, nth
        self.seen = 0
        self.held, self.release = threading.Event(), threading.Event()
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        answer = self.app(environ, start_response)
        if environ.get("PATH_INFO", "").startswith(self.path):
            with self.lock:
                self.seen += 1
                hold = self.seen == self.nth
            if hold:
                self.held.set()
                self.release.wait(DEADLINE)
        return answer


def mapped_orders(world, prefix: str) -> list[Order]:
    """Three orders of one CASE-A each, their lines mapped to the product, imported in one go."""
    lines = [line_in("L1", "CASE-A", 1, product_id=world["a"].pk, product_quantity=1)]
    result = orders_upsert(
        store_id=world["store"].pk, orders=[order_in(f"{prefix}-{n}", lines=lines) for n in range(3)]
    )
    assert not result.problems, result.problems
    return list(Order.objects.filter(store=world["store"], channel_order_id__startswith=f"{prefix}-").order_by("pk"))


# --- (a) an order import --------------------------------------------------------------------------------------------


def test_a_worker_killed_while_reading_a_stores_orders_is_taken_over_and_imports_each_order_once(broker, workers):
    first, second = workers
    simulator = AliExpressSimulator(now=timezone.now() - timedelta(minutes=30), page_size_max=2)
    order_ids = sorted(simulator.add_order(lines=[{"sku_code": f"SKU-{n}", "quantity": 1}]) for n in range(5))
    asked, release = threading.Event(), threading.Event()

    def hold_page_two(_simulator) -> None:
        asked.set()
        release.wait(DEADLINE)

    simulator.after_page(2, hold_page_two)
    with SimulatorServer(simulator) as server:
        try:
            store = aliexpress_store(server.url, name="AliExpress crash test")
            run, queued = sync_request(store=store, kind=SyncRun.Kind.ORDERS)
            assert queued
            wait_for(
                lambda: asked.is_set() or first.dead(),
                deadline_seconds=DEADLINE,
                describe=lambda: f"Page 2 never asked for. Worker log:\n{first.log()}",
            )
            run.refresh_from_db()
            assert (run.status, Order.objects.filter(store=store).count()) == (SyncRun.Status.RUNNING, 0)

            first.kill()
        finally:
            release.set()
        # Once PostgreSQL has ended the dead worker's session, the run is seen abandoned (not "running" forever):
        # the store's schedule or "Sync now" queues it again, and the outbox sends the dead worker's task again.
        wait_for(
            lambda: run_abandoned(SyncRun.objects.get(pk=run.pk)),
            deadline_seconds=DEADLINE,
            describe=lambda: "The dead worker's run lease was never freed",
        )
        broker.send_to(second.queue)
        assert sync_request(store=store, kind=SyncRun.Kind.ORDERS) == (run, False)
        assert take_over(broker, first, second) == 1
        wait_for(
            lambda: SyncRun.objects.filter(pk=run.pk, status__in=["succeeded", "failed"]).exists() or second.dead(),
            deadline_seconds=DEADLINE,
            describe=lambda: f"The run did not finish. Worker log:\n{second.log()}",
        )
        outbox_finished(second)

    run.refresh_from_db()
    store.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, (run.errors, second.log())
    assert run.counts == {
        "fetched": 5,
        "created": 5,
        "updated": 0,
        "unchanged": 0,
        "stale": 0,
        "held": 5,
        "rejected": 0,
        "mapped_automatically": 0,
    }
    assert run.errors == []
    assert store.orders_synced_to == run.window_end
    assert SyncRun.objects.filter(store=store).count() == 1
    assert sorted(Order.objects.filter(store=store).values_list("channel_order_id", flat=True)) == order_ids
    assert OrderLine.objects.filter(order__store=store).count() == 5
    # The import queued an allocation through the outbox, which the second worker ran (the SKUs are not mapped).
    assert set(Order.objects.filter(store=store).values_list("status", flat=True)) == {Order.Status.ON_HOLD}
    # The dead worker's task sent twice, the one "Sync now" queued once: one took the run over, the other found it
    # held or done and did nothing.
    assert list(
        TaskOutbox.objects.filter(task_name="channels.tasks.sync_run_execute").values_list("args", "attempts")
    ) == [([run.pk], 2), ([run.pk], 1)]
    assert second.log().count("its worker was lost; taken over") == 1
    assert stock_drift_check().ok


# --- (b) an allocation run ------------------------------------------------------------------------------------------


def test_a_worker_killed_while_an_allocation_waits_for_stock_locks_leaves_nothing_and_the_rerun_allocates_once(
    broker, workers
):
    first, second = workers
    world = world_make()
    receive(world, "CN1", world["a"], 10)
    balance = InventoryBalance.objects.get(product=world["a"], warehouse=world["cn"])
    # The test's own session locks the stock balance the allocation must reserve from.
    with psycopg.connect(database_url(connection.settings_dict), autocommit=False) as holder:
        holder.execute("SELECT id FROM inventory_inventorybalance WHERE id = %s FOR UPDATE", [balance.pk])
        holder_pid = holder.info.backend_pid
        # Three orders of one CASE-A, mapped as they come in; the import queues an allocation run (the outbox).
        made = mapped_orders(world, "K")

        def waiting_backend() -> int | None:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
                    "AND %s = ANY(pg_blocking_pids(pid))",
                    [holder_pid],
                )
                found = cursor.fetchone()
            return found[0] if found else None

        victim = wait_for(
            lambda: waiting_backend() or first.dead(),
            deadline_seconds=DEADLINE,
            describe=lambda: f"No allocation waited for the lock. Worker log:\n{first.log()}",
        )
        assert not first.dead(), first.log()
        first.kill()
        holder.rollback()

    def session_gone() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [victim])
            return cursor.fetchone()[0] == 0

    wait_for(session_gone, deadline_seconds=DEADLINE, describe=lambda: f"Backend {victim} of the dead worker lives")
    # Its transaction was rolled back whole: no parcel, no reservation, nothing reserved.
    assert (Parcel.objects.count(), Reservation.objects.count()) == (0, 0)
    balance.refresh_from_db()
    assert balance.reserved == 0

    assert take_over(broker, first, second) == 1
    outbox_finished(second)

    parcels = list(Parcel.objects.order_by("pk"))
    assert len(parcels) == 3
    assert [order.status for order in Order.objects.filter(pk__in=[o.pk for o in made])] == [Order.Status.ALLOCATED] * 3
    assert sorted(Reservation.objects.values_list("reference", "quantity_reserved")) == sorted(
        (parcel.number, 1) for parcel in parcels
    )
    balance.refresh_from_db()
    assert (balance.on_hand, balance.reserved) == (10, 3)
    assert OrderEvent.objects.filter(order__in=made, kind="status", to_status="allocated").count() == 3
    assert stock_drift_check().ok


# --- (c) a label batch ----------------------------------------------------------------------------------------------


def test_a_worker_killed_while_the_carrier_answers_a_label_never_buys_it_twice_and_the_rerun_finishes_the_wave(
    broker, workers
):
    first, second = workers
    world = world_with_product_code()
    floor_make(world, post_account())  # 53 CASE-A in Shenzhen's bins
    carrier = YunExpressSimulator(customer_code="C12345", api_secret="s3cret")
    # The carrier makes the second parcel, then its answer is held: the label is bought, the worker never hears.
    gate = Gate(carrier, path="/api/WayBill/CreateOrder", nth=2)
    with SimulatorServer(gate) as server:
        carrier.url = server.url
        world["method"].account = account_for(carrier)
        world["method"].save()
        # The first worker allocates the orders (the import queues the run), then the wave is made of them.
        allocated = mapped_orders(world, "W")
        outbox_finished(first)
        assert {order.status for order in Order.objects.filter(pk__in=[o.pk for o in allocated])} == {"allocated"}
        wave = wave_release(wave=wave_create(criteria=criteria(world)))
        try:
            wait_for(
                lambda: gate.held.is_set() or first.dead(),
                deadline_seconds=DEADLINE,
                describe=lambda: f"The second label was never asked for. Worker log:\n{first.log()}",
            )
            assert len(carrier.orders) == 2
            assert sorted(Shipment.objects.values_list("status", flat=True)) == ["created", "label_ready"]
            first.kill()
        finally:
            gate.release.set()

        assert take_over(broker, first, second) == 1
        outbox_finished(second)

    shipments = list(Shipment.objects.order_by("pk"))
    parcels = list(Parcel.objects.filter(wave_entries__wave=wave).order_by("pk"))
    assert len(parcels) == 3
    assert [shipment.parcel_id for shipment in shipments] == [parcel.pk for parcel in parcels]
    assert {shipment.status for shipment in shipments} == {Shipment.Status.LABEL_READY}
    # One parcel bought per shipment: the second was read back from the carrier, not made again.
    assert sorted(carrier.orders) == sorted(parcel.number for parcel in parcels)
    assert sorted(shipment.tracking_number for shipment in shipments) == sorted(
        order.tracking_number for order in carrier.orders.values()
    )
    assert len(carrier.requests_to("/api/WayBill/CreateOrder")) == 4  # the second one asked again: "exists"
    assert len(carrier.requests_to("/api/WayBill/GetOrder")) == 1
    assert Wave.objects.get(pk=wave.pk).status == Wave.Status.RELEASED
    assert stock_drift_check().ok

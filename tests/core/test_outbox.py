"""The task outbox: a task asked for while the broker is down is kept and run once the broker is back; two drains
at once never send a row twice; which rows a drain sends again (a lost message, a dead worker) and which it leaves.

The broker that is "down" is Redis on a port nothing listens on; the broker that works is kombu's filesystem
transport in the test's folder, or CELERY_BROKER_URL when set (CI's second run uses Redis).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import psycopg
import pytest
from celery import Celery, _state
from django.db import connection, transaction
from django.utils import timezone
from kombu import Exchange, Queue

from channels.models import SyncRun
from channels.simulators.aliexpress import AliExpressSimulator
from channels.simulators.base import SimulatorServer
from core.outbox import LEASE_CLASS, outbox_drain, outbox_due, task_enqueue
from core.outbox_models import TaskOutbox
from orders.models import Order
from tests.core.celery_workers import DEADLINE, Broker, Worker, outbox_finished, outbox_rows
from tests.processes import database_url, free_port, wait_for


def broker_down() -> Celery:
    """This process sends to a Redis nothing listens on (as the write URL: CELERY_BROKER_URL in the environment, as in
    CI's Redis run, would override the broker given here)."""
    down = f"redis://127.0.0.1:{free_port()}/0"
    app = Celery("outbox-test-down", broker=down, set_as_current=False)
    app.conf.broker_write_url = down
    app.set_current()
    return app


def waiting_messages(broker: Broker, queue: str) -> int:
    app = Celery("outbox-test-count", broker=broker.url, set_as_current=False)
    app.conf.broker_transport_options = broker.options
    with app.connection_for_write() as broker_connection:
        bound = Queue(queue, Exchange(queue), routing_key=queue).bind(broker_connection.default_channel)
        bound.declare()
        return bound.queue_declare(passive=True).message_count


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sync_now_with_the_broker_down_answers_202_and_the_run_happens_once_the_broker_is_back(
    tmp_path, broker, admin_api
):
    simulator = AliExpressSimulator(now=timezone.now() - timedelta(minutes=30))
    order_ids = sorted(simulator.add_order(lines=[{"sku_code": f"SKU-{n}", "quantity": 1}]) for n in range(2))
    worker = Worker(tmp_path, "outbox")
    try:
        with SimulatorServer(simulator) as server:
            store = admin_api.post(
                "/api/v1/stores/",
                {
                    "channel": "aliexpress",
                    "name": "AliExpress outbox test",
                    "api_base_url": server.url,
                    "auth_url": server.url + "/rest",
                    "credentials": {
                        "app_key": "sim-app-key",
                        "app_secret": "sim-app-secret",
                        "access_token": "sim-access-0",
                        "refresh_token": "sim-refresh-0",
                    },
                    "import_from": (timezone.now() - timedelta(days=1)).isoformat(),
                },
                format="json",
            ).json()
            broker_down()

            answered = admin_api.post(f"/api/v1/stores/{store['id']}/sync/", {"kind": "orders"}, format="json")

            assert answered.status_code == 202, answered.json()
            run = SyncRun.objects.get(pk=answered.json()["id"])
            assert run.status == SyncRun.Status.QUEUED
            [row] = TaskOutbox.objects.all()
            assert (row.task_name, row.args, row.kwargs, row.sent_at, row.attempts) == (
                "channels.tasks.sync_run_execute",
                [run.pk],
                {},
                None,
                0,
            )
            assert "OperationalError" in row.last_error and "Connection refused" in row.last_error
            # Still down: the drain leaves the row as it was, to try again next time.
            assert outbox_drain() == {"sent": 0, "unsent": 1, "pruned": 0}

            wait_for(worker.ready, deadline_seconds=DEADLINE, describe=lambda: f"Not ready:\n{worker.log()}")
            broker.send_to(worker.queue)
            assert outbox_drain() == {"sent": 1, "unsent": 0, "pruned": 0}
            wait_for(
                lambda: SyncRun.objects.filter(pk=run.pk, status__in=["succeeded", "failed"]).exists() or worker.dead(),
                deadline_seconds=DEADLINE,
                describe=lambda: f"The run did not finish. Worker log:\n{worker.log()}",
            )
            outbox_finished(worker)

        run.refresh_from_db()
        assert run.status == SyncRun.Status.SUCCEEDED, (run.errors, worker.log())
        assert (
            sorted(Order.objects.filter(store_id=store["id"]).values_list("channel_order_id", flat=True)) == order_ids
        )
        row.refresh_from_db()
        assert (row.attempts, row.last_error) == (1, "")
        assert row.started_at is not None and row.done_at is not None
        # Nothing is due any more; the same message delivered again (as Redis does after its visibility timeout)
        # is skipped by the worker: the row is done.
        assert outbox_drain()["sent"] == 0
        _state.get_current_app().send_task(row.task_name, args=row.args, task_id=str(row.task_id))
        wait_for(
            lambda: "skipped: done already" in worker.log() or worker.dead(),
            deadline_seconds=DEADLINE,
            describe=lambda: f"The second delivery was not skipped. Worker log:\n{worker.log()}",
        )
        assert SyncRun.objects.filter(store_id=store["id"]).count() == 1
        assert set(Order.objects.filter(store_id=store["id"]).values_list("status", flat=True)) == {"on_hold"}, (
            outbox_rows()
        )
    finally:
        worker.stop()


@pytest.mark.django_db(transaction=True)
def test_two_drains_at_once_split_the_rows_and_never_send_one_twice(broker):
    queue = "outbox-drains-" + str(free_port())
    broker_down()
    with transaction.atomic():
        rows = [task_enqueue("core.heartbeat_record", f"drain-{n}") for n in range(4)]
    assert TaskOutbox.objects.filter(sent_at__isnull=True).count() == 4

    sent: list[tuple[str, str]] = []
    holding, other_done = threading.Event(), threading.Event()

    class Recording(Celery):
        """The real client, noting who sent what; drain A holds its first send until drain B has finished."""

        def send_task(self, name, args=None, kwargs=None, **options):
            drainer = threading.current_thread().name
            sent.append((drainer, options["task_id"]))
            if drainer == "A" and not holding.is_set():
                holding.set()
                other_done.wait(30)
            return super().send_task(name, args, kwargs, **options)

    app = Recording("outbox-drains", broker=broker.url, set_as_current=False)
    app.conf.broker_transport_options = broker.options
    app.conf.task_default_queue = queue
    broker.queues.append(queue)
    results: dict[str, dict] = {}

    def drain(name: str, **kwargs) -> None:
        app.set_current()
        try:
            results[name] = outbox_drain(**kwargs)
        finally:
            connection.close()

    a = threading.Thread(target=drain, args=("A",), kwargs={"limit": 2}, name="A")
    a.start()
    assert holding.wait(30), "drain A never sent"
    b = threading.Thread(target=drain, args=("B",), name="B")
    b.start()
    b.join(30)
    other_done.set()
    a.join(30)

    assert results == {"A": {"sent": 2, "unsent": 0, "pruned": 0}, "B": {"sent": 2, "unsent": 0, "pruned": 0}}
    assert sorted(task_id for _drainer, task_id in sent) == sorted(str(row.task_id) for row in rows)
    assert [drainer for drainer, _task_id in sent] == ["A", "B", "B", "A"]
    assert waiting_messages(broker, queue) == 4
    assert set(TaskOutbox.objects.values_list("attempts", flat=True)) == {1}
    app.set_current()
    assert outbox_drain()["sent"] == 0


@pytest.mark.django_db
def test_the_drain_sends_again_a_lost_message_and_a_dead_workers_task_but_not_a_running_or_waiting_one(settings):
    settings.OUTBOX_RESEND_AFTER = 600
    now = timezone.now()
    long_ago = now - timedelta(seconds=601)
    unsent = TaskOutbox.objects.create(task_name="core.heartbeat_record", args=["unsent"])
    waiting = TaskOutbox.objects.create(task_name="core.heartbeat_record", sent_at=now, attempts=1)
    lost = TaskOutbox.objects.create(task_name="core.heartbeat_record", sent_at=long_ago, attempts=1)
    running = TaskOutbox.objects.create(task_name="core.heartbeat_record", sent_at=long_ago, started_at=now, attempts=1)
    dead = TaskOutbox.objects.create(task_name="core.heartbeat_record", sent_at=long_ago, started_at=now, attempts=1)
    TaskOutbox.objects.create(task_name="core.heartbeat_record", sent_at=long_ago, done_at=now, attempts=1)
    TaskOutbox.objects.create(task_name="core.heartbeat_record", sent_at=long_ago, attempts=settings.OUTBOX_MAX_SENDS)
    # A worker's session holds the lease of "running"; the worker of "dead" has gone with its session.
    with psycopg.connect(database_url(connection.settings_dict), autocommit=True) as worker_session:
        worker_session.execute("SELECT pg_advisory_lock(%s, %s)", [LEASE_CLASS, running.pk])
        worker_pid = worker_session.info.backend_pid

        assert sorted(outbox_due().values_list("pk", flat=True)) == [unsent.pk, lost.pk, dead.pk]
        assert waiting.pk not in outbox_due().values_list("pk", flat=True)

    # The worker's session ends: PostgreSQL lets its locks go once its backend has exited, a moment after the close.
    # The test runs in one transaction, and PostgreSQL keeps the first pg_stat_activity read in a transaction until
    # the snapshot is cleared: without the clear, a first look taken before the exit would be seen for ever.
    def worker_gone() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)", [worker_pid])
            return cursor.fetchone()[0]

    wait_for(worker_gone, deadline_seconds=DEADLINE, describe=lambda: f"backend {worker_pid} did not exit")
    assert sorted(outbox_due().values_list("pk", flat=True)) == [unsent.pk, lost.pk, running.pk, dead.pk]


@pytest.mark.django_db
def test_finished_rows_are_pruned_after_a_week(broker):
    broker_down()
    now = timezone.now()
    old = TaskOutbox.objects.create(task_name="core.heartbeat_record", done_at=now - timedelta(days=8), attempts=1)
    recent = TaskOutbox.objects.create(task_name="core.heartbeat_record", done_at=now - timedelta(days=6), attempts=1)

    assert outbox_drain() == {"sent": 0, "unsent": 0, "pruned": 1}
    assert list(TaskOutbox.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not TaskOutbox.objects.filter(pk=old.pk).exists()

"""A real Celery worker carries out a store's periodic sync against a platform simulator on 127.0.0.1.

The task is sent the way django-celery-beat sends the store's periodic task; the worker reads the store's orders
from the simulator, queues the runs it needs on its own queue and saves the orders in the test's database; the
import queues an allocation run, which the worker carries out too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from channels.models import SyncRun
from channels.simulators.aliexpress import AliExpressSimulator
from channels.simulators.base import SimulatorServer
from orders.models import Order
from tests.channels.simulated_stores import aliexpress_store
from tests.core.test_celery_worker import broker_settings
from tests.processes import database_url, process_stop, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DEADLINE = 120.0


def test_a_worker_runs_the_periodic_sync_of_a_store(tmp_path):
    simulator = AliExpressSimulator(now=timezone.now() - timedelta(minutes=30))
    order_ids = [simulator.add_order(lines=[{"sku_code": f"SKU-{n}", "quantity": 1}]) for n in range(3)]
    queue = f"sync-{uuid.uuid4().hex}"
    broker_url, transport_options = broker_settings(tmp_path)
    with SimulatorServer(simulator) as server:
        store = aliexpress_store(server.url, name="AliExpress worker test")
        periodic = PeriodicTask.objects.get(kwargs=json.dumps({"store_id": store.pk}))
        environment = {
            **os.environ,
            "SEABRIDGE_DATA_DIR": str(tmp_path),
            "DATABASE_URL": database_url(connection.settings_dict),
            "SEABRIDGE_TESTING": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "CHANNEL_HTTP_BACKOFF": "0.01",
            "PYTHONUNBUFFERED": "1",
        }
        log_path = tmp_path / "worker.log"
        command = [
            sys.executable, "-m", "celery", "--app", "config", "worker", "--loglevel", "INFO", "--concurrency", "1",
            "--queues", queue, "--hostname", f"{queue}@%h", "--without-gossip", "--without-mingle",
            "--without-heartbeat",
        ]  # fmt: skip
        sender = Celery("sync-test", broker=broker_url, set_as_current=False)
        sender.conf.broker_transport_options = transport_options
        with log_path.open("wb") as log:
            worker = subprocess.Popen(
                command, cwd=settings.BASE_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            # What beat sends for the store's periodic task: its task name and kwargs.
            sender.send_task(periodic.task, kwargs=json.loads(periodic.kwargs), queue=queue)
            wait_for(
                lambda: (
                    SyncRun.objects.filter(store=store, kind="orders", status__in=["succeeded", "failed"]).exists()
                    or worker.poll() is not None
                ),
                deadline_seconds=DEADLINE,
                describe=lambda: f"No finished run within {DEADLINE:g} s. Worker log:\n{log_path.read_text()}",
            )
            run = SyncRun.objects.get(store=store, kind="orders")
            assert run.status == "succeeded", (run.errors, log_path.read_text())
            assert run.trigger == "schedule"
            assert sorted(Order.objects.filter(store=store).values_list("channel_order_id", flat=True)) == sorted(
                order_ids
            )
            assert simulator.requests_to("/sync"), "the worker read the simulator"
            # The import queued an allocation run, which the same worker carries out: the orders' SKUs are not
            # mapped, so each order goes on hold with the reason, without anyone touching it.
            orders = Order.objects.filter(store=store)
            wait_for(
                lambda: not orders.exclude(status=Order.Status.ON_HOLD).exists() or worker.poll() is not None,
                deadline_seconds=DEADLINE,
                describe=lambda: f"Orders not allocated within {DEADLINE:g} s. Worker log:\n{log_path.read_text()}",
            )
            assert set(orders.values_list("status", flat=True)) == {Order.Status.ON_HOLD}, log_path.read_text()
            assert "orders.tasks.orders_allocate_task" in log_path.read_text()
        finally:
            process_stop(worker)

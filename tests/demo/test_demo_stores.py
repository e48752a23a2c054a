"""The demo's stores against the demo's marketplace simulators (``demo.simulators``, one server for all five, as
``make run`` starts it): each store's first orders sync and its stock push succeed over real HTTP, the store
that cannot reach its platform fails and says so on the health page, and the spreadsheet store has its orders."""

from __future__ import annotations

import pytest

from channels import sync
from channels.models import Store, SyncRun
from channels.selectors import store_health
from channels.services import sync_request
from channels.simulators.base import SimulatorServer
from demo import catalogue
from demo.services import demo_data_load, demo_stores_sync
from demo.simulators import PLATFORMS, Dispatcher, simulators_build
from logistics.manifests import manifest_close, manifest_open, manifest_scan
from logistics.models import Manifest, Shipment
from orders.fulfilment import orders_allocate
from orders.models import Parcel
from orders.shipping import parcel_ship

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def simulators_url():
    simulators = simulators_build((product.sku for product in catalogue.PRODUCTS), orders=6)
    with SimulatorServer(Dispatcher(simulators)) as server:
        yield server.url


def test_every_demo_store_reads_its_orders_and_pushes_its_stock(simulators_url):
    demo_data_load(simulators_url=simulators_url)

    queued = demo_stores_sync()

    assert sorted(queued) == sorted([*(platform.name for platform in PLATFORMS), catalogue.UNREACHABLE_STORE])
    for run in SyncRun.objects.filter(status=SyncRun.Status.QUEUED).exclude(store__name=catalogue.UNREACHABLE_STORE):
        done = sync.sync_run_execute(run.pk)
        assert (done.store.name, done.status, done.errors) == (run.store.name, SyncRun.Status.SUCCEEDED, [])
        assert done.counts["created"] > 0, done.store.name
    for platform in PLATFORMS:
        store = Store.objects.get(name=platform.name)
        assert store.orders.exists(), store.name
        assert store.orders_synced_to is not None
        run, _created = sync_request(store=store, kind=SyncRun.Kind.STOCK)
        pushed = sync.sync_run_execute(run.pk)
        assert (store.name, pushed.status) == (store.name, SyncRun.Status.SUCCEEDED), pushed.errors
    # A second load (make run again) queues nothing more: every store has synced, or has a run waiting.
    assert demo_stores_sync() == []


def test_the_store_that_cannot_reach_its_platform_fails_and_the_health_page_says_so(simulators_url):
    demo_data_load(simulators_url=simulators_url)
    unreachable = Store.objects.get(name=catalogue.UNREACHABLE_STORE)

    assert catalogue.UNREACHABLE_STORE in demo_stores_sync()
    run = SyncRun.objects.get(store=unreachable, status=SyncRun.Status.QUEUED)
    failed = sync.sync_run_execute(run.pk)

    assert failed.status == SyncRun.Status.FAILED and failed.errors
    health = {row.store.name: row for row in store_health()}
    assert health[catalogue.UNREACHABLE_STORE].last_run_status == SyncRun.Status.FAILED
    assert not health[catalogue.UNREACHABLE_STORE].ok
    spreadsheet = Store.objects.get(name=catalogue.SPREADSHEET_STORE)
    assert spreadsheet.orders.exists()


def test_the_demo_carriers_make_labels_for_allocated_parcels_and_take_them_at_hand_over(simulators_url):
    demo_data_load(simulators_url=simulators_url)
    for run in SyncRun.objects.filter(status=SyncRun.Status.QUEUED):
        sync.sync_run_execute(run.pk)
    for _ in range(len(demo_stores_sync()) + 1):
        for run in SyncRun.objects.filter(status=SyncRun.Status.QUEUED):
            sync.sync_run_execute(run.pk)
    orders_allocate()
    made = {}
    for parcel in Parcel.objects.filter(reserved_at__isnull=False).select_related("shipping_method__account"):
        account = parcel.shipping_method.account
        if account is None or account.name in made:
            continue
        made[account.name] = parcel_ship(parcel=parcel)
    assert set(made) >= {"YunExpress 云途 (demo)", "4PX 递四方 (demo)"}, sorted(made)
    for name, shipment in made.items():
        assert shipment.status == Shipment.Status.LABEL_READY, (name, shipment.carrier_message)
        assert bytes(shipment.label).startswith(b"%PDF") and shipment.tracking_number, name
        manifest = manifest_open(account=shipment.account)
        manifest_scan(manifest=manifest, code=shipment.tracking_number)
        assert manifest_close(manifest=manifest).status == Manifest.Status.HANDED_OVER, name

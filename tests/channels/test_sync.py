"""The sync engine end to end: a store in the database, a platform simulator on 127.0.0.1, runs as a worker makes
them. AliExpress stands for every platform here (each adapter has its own tests against its simulator)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from channels import sync
from channels.models import RejectedOrder, SkuMapping, Store, SyncRun
from channels.services import sku_mapping_save, store_create, sync_request
from channels.simulators.aliexpress import AliExpressSimulator
from channels.simulators.base import SimulatorServer
from channels.tokens import store_credentials
from inventory.stock_services import stock_receive
from orders.models import Order, OrderShipment
from orders.services import order_shipment_record
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

CREDENTIALS = {
    "app_key": "sim-app-key",
    "app_secret": "sim-app-secret",
    "access_token": "sim-access-0",
    "refresh_token": "sim-refresh-0",
}


@pytest.fixture(autouse=True)
def fast_http(settings):
    settings.CHANNEL_HTTP_TIMEOUT = 2.0
    settings.CHANNEL_HTTP_ATTEMPTS = 3
    settings.CHANNEL_HTTP_BACKOFF = 0.001


@pytest.fixture
def platform():
    simulator = AliExpressSimulator(now=timezone.now() - timedelta(minutes=30))
    with SimulatorServer(simulator) as server:
        simulator.url = server.url
        yield simulator


@pytest.fixture
def store(platform):
    return store_create(
        channel="aliexpress",
        name="AliExpress main",
        api_base_url=platform.url,
        auth_url=platform.url + "/rest",
        credentials=CREDENTIALS,
        import_from=timezone.now() - timedelta(days=2),
    )


def run(store: Store, kind: str = "orders") -> SyncRun:
    queued, _created = sync_request(store=store, kind=kind)
    return sync.sync_run_execute(queued.pk)


def test_a_run_imports_the_window_and_the_next_one_changes_nothing(store, platform):
    product = ProductFactory(sku="CASE-RED")
    first_id = platform.add_order(lines=[{"sku_code": "CASE-RED", "quantity": 2, "unit_price": "7.50"}])
    platform.add_order(lines=[{"sku_code": "amz-blue", "quantity": 1}])

    done = run(store)
    assert done.status == "succeeded", done.errors
    assert (done.counts["fetched"], done.counts["created"], done.counts["held"]) == (2, 2, 1)
    assert done.requests >= 3 and done.seconds_waiting > 0
    order = Order.objects.get(channel_order_id=first_id)
    line = order.lines.get()
    assert (line.product_id, line.product_quantity, line.unit_price) == (product.pk, 2, Decimal("7.5000"))
    assert SkuMapping.objects.get(store=store, channel_sku="CASE-RED").is_automatic
    store.refresh_from_db()
    assert store.orders_synced_to == done.window_end
    assert (store.failures_in_row, store.last_success_at is not None) == (0, True)

    again = run(store)
    assert again.window_start == done.window_end - sync.OVERLAP
    assert (again.counts["created"], again.counts["updated"]) == (0, 0)
    assert Order.objects.count() == 2


def test_a_500_in_the_middle_of_paging_saves_nothing_and_keeps_the_cursor(store, platform):
    for _ in range(5):
        platform.add_order(lines=[{"sku_code": "SKU-1", "quantity": 1}])
    platform.page_size_max = 2
    # Page 3 answers 500 to each of the run's three attempts.
    platform.fault("/sync", status=500, body={"error": "boom"}, times=3, after=2)

    failed = run(store)
    assert failed.status == "failed"
    assert failed.errors[-1]["code"] == "transient"
    assert Order.objects.count() == 0
    store.refresh_from_db()
    assert (store.orders_synced_to, store.failures_in_row) == (None, 1)
    assert store.last_error

    recovered = run(store)
    assert recovered.status == "succeeded", recovered.errors
    assert recovered.window_start == failed.window_start
    assert Order.objects.count() == 5
    store.refresh_from_db()
    assert store.failures_in_row == 0


def test_an_unreadable_order_is_kept_with_its_field_and_cleared_when_it_reads_well(store, platform):
    good = platform.add_order(lines=[{"sku_code": "SKU-1", "quantity": 1}])
    odd = platform.add_order(lines=[{"sku_code": "SKU-2", "quantity": 1}])
    platform.tamper(odd, lambda dto: dto.pop("gmt_create"))

    done = run(store)
    assert done.status == "succeeded"
    assert list(Order.objects.values_list("channel_order_id", flat=True)) == [good]
    rejected = RejectedOrder.objects.get(channel_order_id=odd)
    assert rejected.field.endswith("gmt_create") and rejected.raw and rejected.resolved_at is None
    assert done.errors == [
        {"code": "rejected_order", "order": odd, "field": rejected.field, "message": rejected.message}
    ]

    platform.orders[int(odd)].tamper.clear()
    platform.now = timezone.now() - timedelta(minutes=5)  # a change inside the next window
    platform.update_order(odd, buyer_name="Fixed")
    run(store)
    assert Order.objects.filter(channel_order_id=odd).exists()
    rejected.refresh_from_db()
    assert rejected.resolved_at is not None


def test_a_refreshed_token_is_kept_encrypted_with_the_rotated_refresh_token(store, platform):
    platform.add_order(lines=[{"sku_code": "SKU-1", "quantity": 1}])
    platform.expire_access_tokens()
    assert run(store).status == "succeeded"
    store.refresh_from_db()
    credentials = store_credentials(store)
    assert credentials["refresh_token"] != CREDENTIALS["refresh_token"]
    assert store.access_token_encrypted and "sim-access" not in store.access_token_encrypted


def test_refused_credentials_fail_the_run_and_say_so_on_the_store(store, platform):
    platform.expire_access_tokens()
    platform.revoke_refresh_tokens()
    failed = run(store)
    assert failed.status == "failed" and failed.errors[-1]["code"] == "auth_failed"
    store.refresh_from_db()
    assert store.failures_in_row == 1


def test_a_recorded_shipment_is_told_to_the_store_once(store, platform):
    product = ProductFactory(sku="SKU-1")
    order_id = platform.add_order(lines=[{"sku_code": "SKU-1", "quantity": 1}])
    run(store)
    order = Order.objects.get(channel_order_id=order_id)
    assert order.lines.get().product_id == product.pk
    shipment, _created = order_shipment_record(order=order, carrier="UPS", tracking_number="1Z999AA10123456784")

    told = sync.shipment_tell(shipment.pk)
    assert told.store_status == OrderShipment.StoreStatus.CONFIRMED
    assert sync.shipment_tell(shipment.pk) is None  # not pending any more: nothing is sent again
    assert [f["logistics_no"] for f in platform.confirmed(order_id)] == ["1Z999AA10123456784"]
    assert order.events.filter(kind="store_told").count() == 1


def test_a_shipment_the_store_refuses_is_failed_with_its_message(store, platform):
    order_id = platform.add_order(lines=[{"sku_code": "SKU-1", "quantity": 1}])
    run(store)
    order = Order.objects.get(channel_order_id=order_id)
    platform.update_order(order_id, status="FINISH")  # closed on the platform: it will not take a parcel
    shipment, _created = order_shipment_record(order=order, carrier="UPS", tracking_number="1Z1")
    told = sync.shipment_tell(shipment.pk)
    assert told.store_status == OrderShipment.StoreStatus.FAILED
    assert told.store_message


def test_stock_is_pushed_from_the_store_warehouses_after_buffer_and_share_only_when_it_changed(store, platform):
    warehouse = WarehouseFactory(code="SZ")
    pick = BinFactory(warehouse=warehouse, code="A-01-01-01")
    red, blue = ProductFactory(sku="RED"), ProductFactory(sku="BLUE")
    stock_receive(product=red, bin=pick, quantity=50)
    stock_receive(product=blue, bin=pick, quantity=3)
    Store.objects.filter(pk=store.pk).update(stock_buffer=2, stock_percent=50)
    store.warehouses.set([warehouse])
    platform.add_product(111, {"RED": 0})
    platform.add_product(222, {"BLUE-2PK": 0})
    sku_mapping_save(store=store, channel_sku="RED", product=red, listing_id="111")
    sku_mapping_save(store=store, channel_sku="BLUE-2PK", product=blue, quantity=2, listing_id="222")

    pushed = run(store, "stock")
    assert pushed.status == "succeeded", pushed.errors
    assert pushed.counts == {"mappings": 2, "unchanged": 0, "pushed": 2, "failed": 0}
    assert platform.inventory(111, "RED") == 24  # (50 - 2) × 50%
    assert platform.inventory(222, "BLUE-2PK") == 0  # (3 - 2) × 50% = 0 units, 0 two-packs
    assert run(store, "stock").counts == {"mappings": 2, "unchanged": 2, "pushed": 0, "failed": 0}

    stock_receive(product=red, bin=pick, quantity=10)
    platform.fail_product(222, "SKU_NOT_EXIST", "sku not found")
    again = run(store, "stock")
    assert again.counts["pushed"] == 1 and platform.inventory(111, "RED") == 29
    assert SkuMapping.objects.get(channel_sku="RED").pushed_quantity == 29
    assert SkuMapping.objects.get(channel_sku="BLUE-2PK").push_status == "ok"  # unchanged at 0: not sent again

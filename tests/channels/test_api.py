"""Stores, SKU mappings and sync runs through the API; orders, confirm-shipment and holds through the API."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import PeriodicTask

from channels.models import SkuMapping, Store, SyncRun
from channels.services import sku_mapping_save
from orders.imports import orders_upsert
from orders.models import Order, OrderShipment
from tests.inventory.factories import ProductFactory, WarehouseFactory
from tests.orders.factories import StoreFactory, line_in, order_in

pytestmark = pytest.mark.django_db

AMAZON = {
    "channel": "amazon",
    "name": "Amazon US",
    "api_base_url": "http://127.0.0.1:9/amazon",
    "auth_url": "http://127.0.0.1:9/auth/o2/token",
    "marketplace_id": "ATVPDKIKX0DER",
    "credentials": {"client_id": "id-1", "client_secret": "s3cret", "refresh_token": "Atzr|r", "seller_id": "A1"},
}


def test_a_store_is_connected_with_credentials_that_are_never_shown(admin_api):
    warehouse = WarehouseFactory(code="SZ")
    response = admin_api.post("/api/v1/stores/", {**AMAZON, "warehouses": ["SZ"]}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert "credentials" not in body
    assert body["credentials_set"] == ["client_id", "client_secret", "refresh_token", "seller_id"]
    assert body["warehouses"] == [warehouse.pk]
    assert "s3cret" not in json.dumps(body)
    store = Store.objects.get(pk=body["id"])
    assert "s3cret" not in store.credentials_encrypted
    assert store.import_from is not None
    # A periodic sync of its own, in django-celery-beat.
    task = PeriodicTask.objects.get(kwargs=json.dumps({"store_id": store.pk}))
    assert (task.task, task.enabled, task.interval.every) == ("channels.tasks.store_sync_scheduled", True, 15)
    listed = admin_api.get(f"/api/v1/stores/{store.pk}/").json()
    assert "s3cret" not in json.dumps(listed)


def test_a_store_missing_a_credential_or_with_an_unknown_one_is_refused_by_name(admin_api):
    credentials = {"client_id": "id-1", "client_secret": "s", "refresh_token": "r", "password": "x"}
    response = admin_api.post("/api/v1/stores/", {**AMAZON, "credentials": credentials}, format="json")
    assert response.status_code == 400
    fields = {error["field"]: error["code"] for error in response.json()["errors"]}
    assert fields == {"credentials.seller_id": "required", "credentials.password": "unknown"}
    assert not Store.objects.exists()


def test_a_shopify_store_connects_with_a_token_or_with_its_apps_client_credentials(admin_api):
    shopify = {"channel": "shopify", "api_base_url": "https://example-shop.myshopify.com/admin/api/2026-04"}
    for index, credentials in enumerate(
        ({"access_token": "shpat_1"}, {"client_id": "app-id", "client_secret": "app-secret"})
    ):
        response = admin_api.post(
            "/api/v1/stores/", {**shopify, "name": f"Shop {index}", "credentials": credentials}, format="json"
        )
        assert response.status_code == 201, response.json()
        assert response.json()["credentials_set"] == sorted(credentials)

    response = admin_api.post(
        "/api/v1/stores/", {**shopify, "name": "Shop 3", "credentials": {"client_id": "app-id"}}, format="json"
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("credentials.client_secret", "required")


def test_changing_credentials_replaces_them_and_forgets_the_cached_token(admin_api):
    store_id = admin_api.post("/api/v1/stores/", AMAZON, format="json").json()["id"]
    Store.objects.filter(pk=store_id).update(access_token_encrypted="cached")
    new = {**AMAZON["credentials"], "refresh_token": "Atzr|new"}
    response = admin_api.patch(f"/api/v1/stores/{store_id}/", {"credentials": new, "is_active": False}, format="json")
    assert response.status_code == 200, response.json()
    store = Store.objects.get(pk=store_id)
    assert (store.is_active, store.access_token_encrypted) == (False, "")
    assert PeriodicTask.objects.get(kwargs=json.dumps({"store_id": store_id})).enabled is False


def test_sync_now_answers_202_with_a_queued_run_and_never_queues_two(admin_api):
    store_id = admin_api.post("/api/v1/stores/", AMAZON, format="json").json()["id"]
    first = admin_api.post(f"/api/v1/stores/{store_id}/sync/", {"kind": "orders"}, format="json")
    assert first.status_code == 202
    run = first.json()
    assert (run["status"], run["kind"], run["store"]) == ("queued", "orders", store_id)
    again = admin_api.post(f"/api/v1/stores/{store_id}/sync/", {"kind": "orders"}, format="json")
    assert again.status_code == 202 and again.json()["id"] == run["id"]
    stock = admin_api.post(f"/api/v1/stores/{store_id}/sync/", {"kind": "stock"}, format="json").json()
    assert stock["id"] != run["id"]
    assert admin_api.get(f"/api/v1/sync-runs/{run['id']}/").json()["status"] == "queued"
    assert SyncRun.objects.filter(store_id=store_id).count() == 2
    bad = admin_api.post(f"/api/v1/stores/{store_id}/sync/", {"kind": "everything"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "kind"


def test_a_manual_store_has_nothing_to_sync(admin_api):
    store = StoreFactory(channel="manual")
    response = admin_api.post(f"/api/v1/stores/{store.pk}/sync/", {"kind": "orders"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "manual_store"


def test_mapping_a_sku_releases_the_orders_waiting_for_it(admin_api):
    store = StoreFactory()
    product = ProductFactory(sku="CASE-RED")
    orders_upsert(store_id=store.pk, orders=[order_in("A-1", lines=[line_in("L1", "amz-red-case", quantity=2)])])
    assert admin_api.get("/api/v1/orders/", {"held": "true"}).json()["count"] == 1

    response = admin_api.post(
        "/api/v1/sku-mappings/",
        {"store": store.pk, "channel_sku": "amz-red-case", "product": "case-red", "quantity": 3},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["product_sku"] == "CASE-RED"
    order = admin_api.get("/api/v1/orders/", {"held": "false"}).json()["results"][0]
    assert order["holds"] == [] and order["is_held"] is False
    assert order["lines"][0]["product"] == product.pk and order["lines"][0]["product_quantity"] == 6

    mapping_id = response.json()["id"]
    assert admin_api.delete(f"/api/v1/sku-mappings/{mapping_id}/").status_code == 204
    order = admin_api.get(f"/api/v1/orders/{order['id']}/").json()
    assert [hold["code"] for hold in order["holds"]] == ["unmapped_sku"]
    assert order["lines"][0]["product"] is None


def test_orders_filter_by_store_status_country_sku_and_dates(admin_api):
    store, other = StoreFactory(), StoreFactory()
    product = ProductFactory(sku="SKU-A")
    mapped = line_in("L1", "SKU-A", product_id=product.pk, product_quantity=1)
    orders_upsert(
        store_id=store.pk, orders=[order_in("A-1", lines=[mapped]), order_in("A-2", lines=[line_in("L1", "SKU-B")])]
    )
    orders_upsert(store_id=other.pk, orders=[order_in("B-1", status=Order.Status.PENDING)])

    def ids(**query) -> list[str]:
        return sorted(order["channel_order_id"] for order in admin_api.get("/api/v1/orders/", query).json()["results"])

    assert ids(store=store.pk) == ["A-1", "A-2"]
    assert ids(status="pending") == ["B-1"]
    assert ids(country="us") == ["A-1", "A-2", "B-1"]
    assert ids(sku="SKU-B") == ["A-2"]
    assert ids(ordered_after="2026-11-02T00:00:00Z") == []
    assert ids(held="true") == ["A-2", "B-1"]
    assert ids(held="false") == ["A-1"]


def test_order_date_filters_take_any_zone_and_refuse_what_postgresql_cannot_hold(admin_api):
    store = StoreFactory()
    orders_upsert(store_id=store.pk, orders=[order_in("A-1")])  # ordered at T0, 2026-11-01 08:00 UTC

    def get(**query):
        return admin_api.get("/api/v1/orders/", query)

    # The same instant with a zone offset wider than PostgreSQL's (15:59): compared in UTC.
    assert [o["channel_order_id"] for o in get(ordered_after="2026-10-31T14:44:59-17:15").json()["results"]] == ["A-1"]
    assert get(ordered_after="2026-10-31T14:45:01-17:15").json()["results"] == []
    assert get(ordered_before="0140-09-21T02:00:24-17:15").json()["results"] == []
    for value in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "not a date"):
        response = get(ordered_before=value)
        assert response.status_code == 400, value
        assert response.json()["errors"][0]["field"] == "ordered_before"


def test_confirm_shipment_records_once_and_the_order_ships(admin_api):
    store = StoreFactory(channel="amazon")
    product = ProductFactory(sku="SKU-A")
    orders_upsert(store_id=store.pk, orders=[order_in("A-1", lines=[line_in("L1", "SKU-A", quantity=2)])])
    order = Order.objects.get()
    sku_mapping_save(store=store, channel_sku="SKU-A", product=product)
    line_id = order.lines.get().pk
    url = f"/api/v1/orders/{order.pk}/confirm-shipment/"
    part = {"carrier": "UPS", "tracking_number": "1Z001", "lines": [{"line": line_id, "quantity": 1}]}

    first = admin_api.post(url, part, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["store_status"] == "pending"
    assert Order.objects.get().status == "partially_shipped"
    again = admin_api.post(url, part, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert OrderShipment.objects.count() == 1

    too_many = admin_api.post(
        url, {**part, "tracking_number": "1Z002", "lines": [{"line": line_id, "quantity": 5}]}, format="json"
    )
    assert too_many.status_code == 400 and too_many.json()["errors"][0]["field"] == "lines[0].quantity"
    rest = admin_api.post(url, {"carrier": "UPS", "tracking_number": "1Z003"}, format="json")
    assert rest.status_code == 201
    assert Order.objects.get().status == "shipped"
    line = admin_api.get(f"/api/v1/orders/{order.pk}/").json()["lines"][0]
    assert line["quantity_shipped"] == 2
    done = admin_api.post(url, {"carrier": "UPS", "tracking_number": "1Z004"}, format="json")
    assert done.status_code == 409


def test_a_manual_store_shipment_has_nothing_to_tell(admin_api):
    store = StoreFactory(channel="manual")
    orders_upsert(store_id=store.pk, orders=[order_in("M-1")])
    order = Order.objects.get()
    response = admin_api.post(
        f"/api/v1/orders/{order.pk}/confirm-shipment/", {"carrier": "4PX", "tracking_number": "4PX1"}, format="json"
    )
    assert response.json()["store_status"] == "not_needed"


def test_a_hold_after_shipment_is_released_by_a_person_and_an_unmapped_one_is_not(admin_api):
    store = StoreFactory()
    orders_upsert(store_id=store.pk, orders=[order_in("A-1", lines=[line_in("L1", "NOPE")])])
    order = Order.objects.get()
    hold = order.holds.get()
    response = admin_api.post(f"/api/v1/orders/{order.pk}/release-hold/", {"hold": hold.pk}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "hold_needs_mapping"


def test_reading_needs_the_view_permission(api_client_for):
    picker = api_client_for("Picker/packer")
    assert picker.get("/api/v1/orders/").status_code == 403
    assert picker.get("/api/v1/stores/").status_code == 403
    service = api_client_for("Customer service")
    assert service.get("/api/v1/orders/").status_code == 200
    assert service.post("/api/v1/stores/", AMAZON, format="json").status_code == 403
    assert SkuMapping.objects.count() == 0


def test_the_order_list_and_detail_do_not_read_the_order_as_the_store_sent_it(admin_api):
    """``raw`` is kilobytes of JSON a marketplace order and the API does not show it: it is not read either."""
    store = StoreFactory()
    orders_upsert(store_id=store.pk, orders=[order_in("R-1", raw={"AmazonOrderId": "R-1", "Items": ["x" * 5000]})])
    order = Order.objects.get(channel_order_id="R-1")
    assert order.raw["AmazonOrderId"] == "R-1"
    raw_column = f'"{Order._meta.db_table}"."{Order._meta.get_field("raw").column}"'

    with CaptureQueriesContext(connection) as queries:
        listed = admin_api.get("/api/v1/orders/").json()["results"]
        one = admin_api.get(f"/api/v1/orders/{order.pk}/").json()

    assert [row["channel_order_id"] for row in listed] == ["R-1"] and one["channel_order_id"] == "R-1"
    assert "raw" not in one
    order_reads = [query["sql"] for query in queries if query["sql"].startswith(f'SELECT "{Order._meta.db_table}".')]
    assert len(order_reads) == 2  # the page's and the detail's
    assert not [sql for sql in order_reads if raw_column in sql]

"""Stores, mappings and orders in the admin: credentials never shown, sync now, health, spreadsheet import."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from channels.models import Store, SyncRun
from channels.services import store_create
from orders.imports import orders_upsert
from orders.models import Order
from tests.orders.factories import StoreFactory, line_in, order_in

pytestmark = pytest.mark.django_db

CREDENTIALS = {"client_id": "id-1", "client_secret": "very-secret-value", "refresh_token": "r-1"}


@pytest.fixture
def client(make_user) -> Client:
    client = Client()
    client.force_login(make_user(superuser=True))
    return client


def test_store_pages_never_show_credentials_and_saving_keeps_them(client):
    store = store_create(channel="ebay", name="eBay US", credentials=CREDENTIALS)
    page = client.get(reverse("admin:channels_store_change", args=[store.pk])).content.decode()
    assert "very-secret-value" not in page
    assert "client_id, client_secret, refresh_token" in page
    listing = client.get(reverse("admin:channels_store_changelist")).content.decode()
    assert "very-secret-value" not in listing

    form = {
        "channel": "ebay",
        "name": "eBay US renamed",
        "marketplace_id": "EBAY_US",
        "api_base_url": "api.ebay.com",
        "auth_url": "",
        "options": "{}",
        "credentials": "",
        "is_active": "on",
        "sync_interval_minutes": "30",
        "import_from_0": "2026-11-01",
        "import_from_1": "00:00:00",
        "stock_buffer": "0",
        "stock_percent": "100",
        "push_stock": "on",
        "tracking_to_store": "label",
    }
    response = client.post(reverse("admin:channels_store_change", args=[store.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    store.refresh_from_db()
    assert (store.name, store.sync_interval_minutes, store.api_base_url, store.tracking_to_store) == (
        "eBay US renamed",
        30,
        "https://api.ebay.com",
        "label",
    )
    assert store.credentials_encrypted  # kept: the empty field does not erase them


def test_sync_now_action_queues_runs(client):
    store = store_create(channel="ebay", name="eBay US", credentials=CREDENTIALS)
    response = client.post(
        reverse("admin:channels_store_changelist"), {"action": "sync_orders", "_selected_action": [store.pk]}
    )
    assert response.status_code == 302
    assert SyncRun.objects.filter(store=store, kind="orders", status="queued").count() == 1


def test_health_page_names_what_needs_looking_at(client):
    store = store_create(channel="ebay", name="eBay US", credentials=CREDENTIALS)
    Store.objects.filter(pk=store.pk).update(failures_in_row=4, last_error="eBay answered order_list with HTTP 503.")
    orders_upsert(store_id=store.pk, orders=[order_in("E-1", lines=[line_in("L1", "UNKNOWN")])])
    page = client.get(reverse("admin:channels_store_health"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "4 failures in a row; last: eBay answered order_list with HTTP 503." in page
    assert "1 orders wait for a SKU mapping." in page


def test_a_spreadsheet_is_imported_into_a_store_from_the_admin(client):
    store = StoreFactory(channel="manual")
    url = reverse("admin:channels_store_import_orders", args=[store.pk])
    assert client.get(url).status_code == 200
    good = "order_id,ordered_at,ship_country,sku,quantity\nW-1,2026-11-20,US,SKU-1,2\n"
    response = client.post(url, {"file": SimpleUploadedFile("o.csv", good.encode())})
    assert response.status_code == 302
    assert Order.objects.get(store=store).channel_order_id == "W-1"
    bad = "order_id,ordered_at,ship_country,sku,quantity\nW-2,2026-11-20,US,SKU-1,none\n"
    page = client.post(url, {"file": SimpleUploadedFile("o.csv", bad.encode())}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "Row 2, quantity: Must be a whole number of at least 1" in page.content.decode()
    assert Order.objects.count() == 1


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_downloaded_template_imports_as_it_is(client, language):
    store = StoreFactory(channel="manual")
    page = client.get(reverse("admin:channels_store_import_orders", args=[store.pk]), HTTP_ACCEPT_LANGUAGE=language)
    template_url = reverse("admin:channels_store_import_orders_template")
    assert template_url in page.content.decode()

    template = client.get(template_url, HTTP_ACCEPT_LANGUAGE=language)

    assert template["Content-Type"].startswith("text/csv")
    header = template.content.decode("utf-8-sig").splitlines()[0]
    assert ("收件国家" in header or "国家" in header) if language == "zh-hans" else "country" in header.lower()
    response = client.post(
        reverse("admin:channels_store_import_orders", args=[store.pk]),
        {"file": SimpleUploadedFile("orders-template.csv", template.content)},
    )
    assert response.status_code == 302
    order = Order.objects.get(store=store)
    assert (order.channel_order_id, order.ship_country, order.ship_city, order.shipping_total) == (
        "WEB-1001",
        "US",
        "Springfield",
        Decimal("4.9900"),
    )
    assert sorted(order.lines.values_list("channel_sku", "quantity")) == [("CASE-IP15-BLK", 2), ("CBL-USBC-1M", 1)]


def test_order_pages_open_with_their_lines_holds_and_history(client):
    store = StoreFactory()
    orders_upsert(store_id=store.pk, orders=[order_in("A-1", lines=[line_in("L1", "UNKNOWN")])])
    order = Order.objects.get()
    listing = client.get(reverse("admin:orders_order_changelist"), {"held": "yes"})
    assert listing.status_code == 200 and "A-1" in listing.content.decode()
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200 and "UNKNOWN" in page.content.decode()


def test_the_order_list_shows_what_the_allocation_rules_would_decide_and_why(client):
    from orders.allocation import rule_save
    from tests.inventory.factories import WarehouseFactory

    WarehouseFactory(code="LA")
    rule_save(
        data={
            "name": "West coast from LA",
            "conditions": [{"field": "postcode", "op": "starts_with", "value": ["6"]}],
            "actions": [{"type": "set_warehouse", "warehouse": "LA"}, {"type": "hold", "reason": "Check first"}],
        }
    )
    store = StoreFactory()
    orders_upsert(store_id=store.pk, orders=[order_in("W-1"), order_in("W-2", address=None)])
    ids = list(Order.objects.values_list("pk", flat=True))

    page = client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "try_rules", "_selected_action": ids},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert page.status_code == 200
    text = page.content.decode()
    assert "West coast from LA: Warehouse LA." in text
    assert "West coast from LA: Held: Check first" in text
    assert "No rule matches." in text
    assert Order.objects.filter(pk__in=ids).count() == 2  # nothing changed

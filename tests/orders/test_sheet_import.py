"""Orders from a spreadsheet: one row per line, all or nothing, every problem named, idempotent."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from channels.models import SkuMapping
from channels.services import store_orders_import
from core.errors import ValidationFailed
from orders.models import Order
from tests.inventory.factories import ProductFactory
from tests.orders.factories import StoreFactory

pytestmark = pytest.mark.django_db

HEADER = (
    "order_id,ordered_at,ship_name,ship_address1,ship_city,ship_postcode,ship_country,currency,shipping,sku,"
    "quantity,unit_price\n"
)
GOOD = (
    HEADER
    + "M-1,2026-11-20 09:30,Jane Roe,1 Main St,Springfield,62701,US,USD,4.50,CASE-RED,2,9.99\n"
    + "M-1,,,,,,,,,CABLE-1M,1,3.00\n"
    + "M-2,2026-11-21,Hans Meier,Hauptstr. 1,Berlin,10115,de,EUR,0,CASE-RED,1,8.00\n"
)


def upload(text: str, name: str = "orders.csv", encoding: str = "utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


@pytest.fixture
def store():
    return StoreFactory(channel="manual", options={"timezone": "Asia/Shanghai"})


def test_a_sheet_becomes_orders_with_lines_mapped_and_totals(store):
    ProductFactory(sku="CASE-RED")
    result = store_orders_import(store=store, source=upload(GOOD))
    assert (result.created, result.held) == (2, 1)
    first = Order.objects.get(channel_order_id="M-1")
    assert first.ordered_at.isoformat() == "2026-11-20T01:30:00+00:00"  # 09:30 in the store's Shanghai time
    assert (first.ship_country, first.subtotal, first.shipping_total, first.total) == (
        "US",
        Decimal("22.9800"),
        Decimal("4.5000"),
        Decimal("27.4800"),
    )
    assert sorted(first.lines.values_list("channel_sku", "quantity", "product__sku")) == [
        ("CABLE-1M", 1, None),
        ("CASE-RED", 2, "CASE-RED"),
    ]
    assert first.holds.get().detail == "CABLE-1M"
    assert Order.objects.get(channel_order_id="M-2").ship_country == "DE"
    assert SkuMapping.objects.get(channel_sku="CASE-RED").is_automatic


def test_the_same_sheet_twice_changes_nothing(store):
    store_orders_import(store=store, source=upload(GOOD))
    events = list(Order.objects.values_list("events__id", flat=True))
    result = store_orders_import(store=store, source=upload(GOOD))
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert list(Order.objects.values_list("events__id", flat=True)) == events


def test_every_bad_row_is_named_and_nothing_is_saved(store):
    bad = (
        HEADER
        + "M-1,2026-11-20,Jane,1 Main St,Springfield,62701,US,USD,4.50,CASE-RED,two,9.99\n"
        + "M-1,,,,,,CA,,,CABLE-1M,1,3.00\n"
        + "M-2,yesterday,Hans,Hauptstr. 1,Berlin,10115,DE,EUR,0,CASE-RED,1,8.00\n"
        + ",2026-11-21,Ann,1 Road,Leeds,LS1,GB,GBP,0,CASE-RED,1,8.00\n"
        + "M-3,2026-11-21,Ann,1 Road,Leeds,LS1,GB,GBP,0,CASE-RED,1,8.00\n"
        + "M-3,,,,,,,,,CASE-RED,1,8.00\n"
    )
    with pytest.raises(ValidationFailed) as refused:
        store_orders_import(store=store, source=upload(bad))
    found = {(error.row, error.field) for error in refused.value.errors}
    assert found == {(2, "quantity"), (3, "ship_country"), (4, "ordered_at"), (5, "order_id"), (7, "sku")}
    assert not Order.objects.exists()


def test_headers_in_chinese_and_an_xlsx_file(store):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["订单号", "下单时间", "收件人", "国家", "平台 SKU", "数量"])
    sheet.append(["X-1", "2026-11-20 10:00", "王芳", "CN", "CASE-RED", 3])
    data = io.BytesIO()
    workbook.save(data)
    result = store_orders_import(store=store, source=SimpleUploadedFile("orders.xlsx", data.getvalue()))
    assert result.created == 1
    order = Order.objects.get()
    assert (order.ship_name, order.lines.get().quantity) == ("王芳", 3)


def test_the_api_imports_a_sheet_into_a_store(admin_api, store):
    response = admin_api.post(f"/api/v1/stores/{store.pk}/import-orders/", {"file": upload(GOOD)}, format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 2, "updated": 0, "unchanged": 0, "held": 2}
    bad = admin_api.post(
        f"/api/v1/stores/{store.pk}/import-orders/",
        {"file": upload(HEADER + "M-9,2026-11-20,J,1 St,X,1,US,USD,0,SKU-1,0,1\n")},
        format="multipart",
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0] == {
        "message": bad.json()["errors"][0]["message"],
        "code": "invalid",
        "field": "quantity",
        "row": 2,
    }

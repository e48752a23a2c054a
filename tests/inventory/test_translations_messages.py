"""Inventory's service and API messages in Chinese: the request's language picks the words, never the codes.

The API answers in the language of ``Accept-Language`` (zh-Hans, zh-CN → Chinese) and English by default; a
service called from code (an import, a command) speaks the active language. Codes, context keys and values (SKUs,
bin codes, numbers) are the same in every language.
"""

from __future__ import annotations

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from core.errors import ValidationFailed
from inventory.bulk import product_bulk_upsert
from inventory.models import PRODUCT_FIELDS, Bin, Product, StockMove
from inventory.stock_services import stock_receive
from inventory.transfer_services import transfer_cancel, transfer_create
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
# A UPC-A whose check digit should be 2.
BAD_CHECK_DIGIT = "036000291453"


@pytest.fixture(autouse=True)
def _language_put_back():
    """LocaleMiddleware leaves a request's language active in the thread; the next test here must not inherit it."""
    language = translation.get_language()
    yield
    translation.activate(language)


@pytest.fixture
def site():
    warehouse = WarehouseFactory(code="SZ", priority=1)
    return {
        "warehouse": warehouse,
        "destination": WarehouseFactory(code="LA", priority=2),
        "pick": BinFactory(warehouse=warehouse, code="A-01-01-01", kind=Bin.Kind.PICK, pick_sequence=1),
        "product": ProductFactory(sku="CASE-1", name="Phone case"),
    }


@pytest.fixture
def manager(api_client_for) -> APIClient:
    return api_client_for("Warehouse manager")


# --- Stock: shortages name the place in the reader's words ---------------------------------------------------


def test_reserving_more_than_is_available_answers_409_in_chinese_with_the_english_code(manager, site):
    stock_receive(product=site["product"], bin=site["pick"], quantity=2)
    body = {"warehouse": "SZ", "reference": "order-line:7", "lines": [{"product": "CASE-1", "quantity": 3}]}

    response = manager.post("/api/v1/stock/reserve/", body, format="json", **CHINESE)

    assert response.status_code == 409
    assert response.json() == {
        "message": "仓库 SZ 的 CASE-1 库存不足：需要 3，可用库存 2。",
        "code": "insufficient_stock",
        "errors": [{"message": "CASE-1：需要 3，仓库 SZ 可用库存 2。", "code": "insufficient_stock", "field": "lines"}],
        "context": {
            "sku": "CASE-1",
            "requested": 3,
            "available": 2,
            "where": "仓库 SZ",
            "shortages": [{"sku": "CASE-1", "requested": 3, "available": 2, "warehouse": "SZ"}],
        },
    }


def test_the_same_shortage_is_english_without_accept_language(manager, site):
    stock_receive(product=site["product"], bin=site["pick"], quantity=2)
    body = {"warehouse": "SZ", "reference": "order-line:7", "lines": [{"product": "CASE-1", "quantity": 3}]}

    response = manager.post("/api/v1/stock/reserve/", body, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "insufficient_stock")
    assert response.json()["message"] == "Not enough CASE-1 in warehouse SZ: asked for 3, 2 available."


def test_several_short_products_are_listed_in_chinese(manager, site):
    ProductFactory(sku="CABLE-1")
    stock_receive(product=site["product"], bin=site["pick"], quantity=2)
    body = {
        "warehouse": "SZ",
        "reference": "order-line:8",
        "lines": [{"product": "CASE-1", "quantity": 3}, {"product": "CABLE-1", "quantity": 1}],
    }

    response = manager.post("/api/v1/stock/reserve/", body, format="json", HTTP_ACCEPT_LANGUAGE="zh-CN")

    assert response.status_code == 409
    assert response.json()["message"] == "2 个商品库存不足：CASE-1（可用 2，需要 3）, CABLE-1（可用 0，需要 1）"
    assert [error["message"] for error in response.json()["errors"]] == [
        "CASE-1：需要 3，仓库 SZ 可用库存 2。",
        "CABLE-1：需要 1，仓库 SZ 可用库存 0。",
    ]


def test_taking_more_than_a_bin_holds_names_the_bin_in_chinese(manager, site):
    stock_receive(product=site["product"], bin=site["pick"], quantity=2)
    body = {"product": "CASE-1", "warehouse": "SZ", "bin": "A-01-01-01", "delta": -3, "note": "broken"}

    response = manager.post("/api/v1/stock/adjust/", body, format="json", **CHINESE)

    assert response.status_code == 409
    assert response.json()["message"] == "库位 A-01-01-01 的 CASE-1 库存不足：需要 3，可用库存 2。"
    assert response.json()["errors"] == [
        {"message": "CASE-1：需要 3，库位 A-01-01-01 可用库存 2。", "code": "insufficient_stock", "field": "quantity"}
    ]
    assert response.json()["context"]["where"] == "库位 A-01-01-01"


def test_an_unknown_sku_in_a_stock_action_is_named_in_chinese(manager, site):
    body = {"product": "nope-9", "warehouse": "SZ", "bin": "A-01-01-01", "quantity": 1}

    response = manager.post("/api/v1/stock/receive/", body, format="json", **CHINESE)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"message": "没有 SKU 为 NOPE-9 的商品。", "code": "no_code", "field": "product"}
    ]
    assert StockMove.objects.count() == 0


def test_a_stock_action_in_chinese_refuses_a_bundle_and_a_missing_reason(manager, site):
    ProductFactory(sku="KIT-1", is_bundle=True)
    bundle = {"product": "KIT-1", "warehouse": "SZ", "bin": "A-01-01-01", "quantity": 1}
    response = manager.post("/api/v1/stock/receive/", bundle, format="json", **CHINESE)
    assert (response.status_code, response.json()["message"]) == (400, "KIT-1 是组合商品；请改为对其子商品收货入库。")
    assert response.json()["errors"] == [{"message": "组合商品本身不持有库存。", "code": "bundle", "field": "product"}]

    no_reason = {"product": "CASE-1", "warehouse": "SZ", "bin": "A-01-01-01", "delta": 1}
    response = manager.post("/api/v1/stock/adjust/", no_reason, format="json", **CHINESE)
    assert response.json() == {
        "message": "请说明库存调整的原因。",
        "code": "validation_failed",
        "errors": [{"message": "库存调整必须填写原因。", "code": "required", "field": "note"}],
    }


# --- Products: the same rule says the same words through every door --------------------------------------


def test_a_bad_check_digit_is_refused_alike_by_the_api_and_the_bulk_upsert(admin_api):
    """Both doors judge the barcode with the same converter, so the words match, whatever the language.

    The check-digit sentence itself is core's (``core.validators.validate_gtin``), translated on the core
    branch; what inventory adds around it is asserted word for word here.
    """
    response = admin_api.post(
        "/api/v1/products/", {"sku": "A-1", "name": "x", "barcode": BAD_CHECK_DIGIT}, format="json", **CHINESE
    )
    assert response.status_code == 400
    (api_error,) = response.json()["errors"]
    assert (api_error["code"], api_error["field"]) == ("barcode_check_digit", "barcode")
    assert response.json()["message"].startswith("商品 A-1 填写有误")

    with translation.override("zh-hans"), pytest.raises(ValidationFailed) as caught:
        product_bulk_upsert(rows=[{"sku": "A-1", "name": "x", "barcode": BAD_CHECK_DIGIT}])
    assert caught.value.message == "1 行中有 1 行有误；未保存任何数据。"
    (bulk_error,) = caught.value.errors
    assert (bulk_error.code, bulk_error.field, bulk_error.row) == ("barcode_check_digit", "barcode", 1)
    assert bulk_error.message == api_error["message"]
    assert Product.objects.filter(sku="A-1").count() == 0


def test_a_barcode_held_by_another_product_is_refused_in_chinese_by_both_doors(admin_api):
    holder = ProductFactory(sku="HOLDER-1")
    expected = f"条码 {holder.barcode} 已被 SKU HOLDER-1 使用。"

    response = admin_api.post(
        "/api/v1/products/", {"sku": "A-1", "name": "x", "barcode": holder.barcode}, format="json", **CHINESE
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [{"message": expected, "code": "unique", "field": "barcode"}]

    with translation.override("zh-hans"), pytest.raises(ValidationFailed) as caught:
        product_bulk_upsert(rows=[{"sku": "A-1", "name": "x", "barcode": holder.barcode}])
    assert [(error.row, error.field, error.code, error.message) for error in caught.value.errors] == [
        (1, "barcode", "unique", expected)
    ]


def test_the_rules_speak_the_language_active_when_a_row_breaks_them():
    """The rules' templates and the fields' labels are read when a row is refused, not when the module loads."""
    rows = [{"sku": "A-1", "name": "x"}, {"sku": "a-1", "name": "y"}, {"sku": "B" * 65, "name": "z"}]

    with translation.override("zh-hans"), pytest.raises(ValidationFailed) as chinese:
        product_bulk_upsert(rows=rows)
    with translation.override("en"), pytest.raises(ValidationFailed) as english:
        product_bulk_upsert(rows=rows)

    assert chinese.value.message == "3 行中有 2 行有误；未保存任何数据。"
    assert [(error.row, error.code, error.message) for error in chinese.value.errors] == [
        (2, "duplicate", "SKU A-1 也出现在第 1 行；同一 SKU 只能出现一次。"),
        (3, "max_length", "SKU有 65 个字符；最多允许 64 个。"),
    ]
    assert english.value.message == "2 of 3 rows are invalid; nothing was saved."
    assert [error.message for error in english.value.errors] == [
        "SKU A-1 is also on row 1; a SKU may appear only once.",
        "SKU has 65 characters; at most 64 are allowed.",
    ]


def test_a_missing_sku_reads_the_same_whether_the_column_or_the_cell_is_empty():
    with translation.override("zh-hans"), pytest.raises(ValidationFailed) as caught:
        product_bulk_upsert(rows=[{"name": "no SKU column"}, {"sku": "  ", "name": "empty SKU cell"}])
    assert [(error.row, error.field, error.code, error.message) for error in caught.value.errors] == [
        (1, "sku", "required", "SKU必填。"),
        (2, "sku", "required", "SKU必填。"),
    ]


def test_an_unknown_field_in_the_bulk_upsert_is_named_in_chinese(admin_api):
    response = admin_api.post(
        "/api/v1/products/bulk-upsert/", [{"sku": "A-1", "name": "x", "colour": "red"}], format="json", **CHINESE
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["field"], error["code"], error["row"]) == ("colour", "unknown_field", 1)
    assert error["message"] == f"'colour' 不是商品字段；可用的字段有：{', '.join(PRODUCT_FIELDS)}。"


# --- Documents: the label of the status machine --------------------------------------------------------------


def test_a_transfer_that_cannot_be_shipped_is_refused_with_its_chinese_label(manager, site):
    """The refusal's sentence is core.status's; inventory gives the document's label ("调拨").

    Asserted: the label and the number, not the rest of the sentence, which is the core branch's to translate.
    """
    transfer = transfer_create(
        source=site["warehouse"], destination=site["destination"], lines=[(site["product"], 1, None)]
    )
    transfer_cancel(transfer=transfer)

    response = manager.post(f"/api/v1/transfers/{transfer.pk}/ship/", {}, format="json", **CHINESE)

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    message = response.json()["message"]
    assert f"调拨 {transfer.number}" in message
    assert "Transfer" not in message

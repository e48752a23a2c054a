"""The Chinese of core and purchasing, where people meet it: names in the admin, API messages, sheet headers.

Codes stay the English words programs read; messages follow the language the request asks for; the OpenAPI schema
stays English. Each assertion is the exact Chinese a person sees.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy
from rest_framework import serializers
from rest_framework.test import APIClient

from core.api.references import ReferenceField, _schema_description
from core.errors import Conflict, ValidationFailed
from core.import_formats import CSV
from core.limits import JSON_MAX_DEPTH, QUANTITY_MAX, quantity_check
from core.resources import ChoiceWidget, SpreadsheetResource
from core.sheets import SheetColumn, SheetLayout, sheet_open
from core.status import status_check
from core.validators import validate_currency, validate_gtin
from inventory.models import Transfer
from inventory.transfer_services import TRANSFER_STATUS
from purchasing.models import Supplier, SupplierProduct
from purchasing.resources import SupplierResource
from tests.inventory.factories import ProductFactory, WarehouseFactory
from tests.purchasing.factories import SupplierFactory, SupplierProductFactory

ZH = "zh-hans"
NO_CONTROL_CHARACTERS = "文本中不允许有控制字符。"


@pytest.fixture(autouse=True)
def _english_again_after_the_test():
    """A request leaves its language active in the thread (LocaleMiddleware does not undo it): the tests after these
    ones expect the default, English."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


# --- Names and rules, without a request ------------------------------------------------------------------------


def test_purchasing_models_and_fields_are_named_in_chinese():
    supplier_product = SupplierProduct._meta
    with translation.override(ZH):
        assert (str(Supplier._meta.verbose_name), str(Supplier._meta.verbose_name_plural)) == ("供应商", "供应商")
        assert str(supplier_product.verbose_name) == "供应商报价"
        assert [
            str(supplier_product.get_field(name).verbose_name)
            for name in ("supplier", "product", "supplier_sku", "unit_cost", "minimum_order_quantity", "case_pack")
        ] == ["供应商", "商品", "供应商 SKU", "采购单价", "最小起订量", "箱规"]
        assert str(supplier_product.get_field("case_pack").help_text) == "每箱件数；采购数量按箱规向上取整。"
    # English stays what it was: admin messages and English sheet headers read these.
    assert (str(Supplier._meta.verbose_name), str(supplier_product.verbose_name_plural)) == (
        "supplier",
        "supplier products",
    )


def test_validator_messages_are_chinese_and_keep_their_codes():
    with translation.override(ZH):
        with pytest.raises(ValidationError) as currency:
            validate_currency("ZZZ")
        with pytest.raises(ValidationError) as barcode:
            validate_gtin("4006381333932")
    assert (currency.value.code, currency.value.messages) == (
        "currency",
        ["ZZZ 不是 ISO 4217 币种代码（例如 USD、CNY、EUR）。"],
    )
    assert (barcode.value.code, barcode.value.messages) == (
        "barcode_check_digit",
        ["条码 4006381333932 的校验位是 2；按 EAN-13 规则，校验位应为 1。"],
    )


def test_a_quantity_over_the_limit_is_refused_in_chinese_with_thousands_kept_as_numbers():
    with translation.override(ZH), pytest.raises(ValidationFailed) as caught:
        quantity_check(QUANTITY_MAX + 1, field="lines[0].quantity")
    assert caught.value.message == "lines[0].quantity：不能大于 10,000,000（收到 10,000,001）。"
    assert [(error.code, error.field) for error in caught.value.errors] == [("max_value", "lines[0].quantity")]


def test_a_refused_transition_renders_a_lazy_document_label_in_the_readers_language():
    machine = dataclasses.replace(TRANSFER_STATUS, label=gettext_lazy("Transfers"))
    draft = Transfer(number="TR-000001", status=Transfer.Status.DRAFT)
    cancelled = Transfer(number="TR-000002", status=Transfer.Status.CANCELLED)
    with translation.override(ZH):
        with pytest.raises(Conflict) as from_draft:
            status_check(machine=machine, document=draft, to_status=Transfer.Status.RECEIVED)
        with pytest.raises(Conflict) as closed:
            status_check(machine=machine, document=cancelled, to_status="archived")
        # The status names are the choice labels, which the inventory app translates; read them as it does.
        draft_label, received_label, cancelled_label, shipped_label = (
            machine.status_label(status) for status in ("draft", "received", "cancelled", "shipped")
        )
    assert from_draft.value.code == "invalid_transition"
    assert from_draft.value.message == (
        f"调拨 TR-000001 当前为“{draft_label}”，不能变为“{received_label}”"
        f"（当前可变为：{cancelled_label}、{shipped_label}）。"
    )
    assert (
        closed.value.message
        == f"调拨 TR-000002 当前为“{cancelled_label}”，不能变为“archived”（当前可变为：无，已关闭）。"
    )
    with translation.override("en"), pytest.raises(Conflict) as english:
        status_check(machine=machine, document=cancelled, to_status="archived")
    assert english.value.message.startswith("Transfers TR-000002 is cancelled; it cannot become archived")


# --- Spreadsheets: headers and choices in every language ------------------------------------------------------


def test_a_verbose_name_stays_lazy_in_a_layout_and_means_its_column_in_every_language():
    column = SheetColumn.for_field(Supplier._meta.get_field("default_lead_time_days"))
    assert isinstance(column.aliases[1], Promise)  # read when the layout is used, not when it is declared
    layout = SheetLayout(columns=(column,))
    assert set(layout.column_by_key) == {"default_lead_time_days", "default lead time days", "默认采购周期（天）"}


@pytest.mark.django_db
def test_a_sheet_with_chinese_headers_imports():
    content = "名称,联系人,币种,默认采购周期（天）,备注,启用\n深圳供应商,王先生,cny,12,含税价,1\n".encode()
    SupplierResource().import_or_raise(CSV().create_dataset(content))
    assert list(
        Supplier.objects.values_list("name", "contact_name", "currency", "default_lead_time_days", "notes", "is_active")
    ) == [("深圳供应商", "王先生", "CNY", 12, "含税价", True)]


def test_chinese_and_english_headers_both_name_a_column_whatever_the_active_language():
    layout = SupplierResource().sheet_layout()
    for language in ("en", ZH):
        with translation.override(language):
            sheet = sheet_open(source="联系人,Default lead time days,name\n王先生,3,Acme\n".encode(), layout=layout)
            assert list(sheet) == [{"contact_name": "王先生", "default_lead_time_days": "3", "name": "Acme", "_row": 2}]


def test_a_missing_column_is_named_with_its_label_in_the_readers_language():
    layout = SupplierResource().sheet_layout()
    with translation.override(ZH), pytest.raises(ValidationFailed) as caught:
        sheet_open(source="联系人\n王先生\n".encode(), layout=layout)
    assert caught.value.code == "invalid_header"
    assert caught.value.message == "表头（第 1 行）无效：表头缺少 name 列（或 '名称'）；现有的列：'联系人'。"


def test_a_choice_cell_takes_its_label_in_any_language():
    widget = ChoiceWidget([("preferred", gettext_lazy("is preferred")), ("other", "other")])
    assert [widget.clean(text) for text in ("首选", "Is Preferred", "PREFERRED", "other")] == [
        "preferred",
        "preferred",
        "preferred",
        "other",
    ]
    with translation.override(ZH), pytest.raises(ValueError) as caught:
        widget.clean("maybe")
    assert str(caught.value) == "'maybe' 不在可选值中：preferred、other。"


def _subclasses(cls: type) -> list[type]:
    found = []
    for subclass in cls.__subclasses__():
        found += [subclass, *_subclasses(subclass)]
    return found


def test_no_header_means_two_columns_in_any_language():
    # A translation that gives two columns of one import the same words would make the layout refuse every file;
    # read every layout of the project in every language here, not on a person's first upload.
    import inventory.resources  # noqa: F401 - the resources to check are SpreadsheetResource's subclasses
    from inventory.bulk import PRODUCT_SHEET
    from inventory.stock_import import STOCK_SHEET

    layouts = [PRODUCT_SHEET, STOCK_SHEET] + [
        resource().sheet_layout()
        for resource in _subclasses(SpreadsheetResource)
        if resource.__module__.endswith(".resources")
    ]
    assert len(layouts) >= 4
    for layout in layouts:
        assert layout.column_by_key  # raises ValueError on a clash


# --- API: messages in the request's language, codes unchanged -----------------------------------------------------


@pytest.mark.django_db
def test_nul_in_a_json_string_is_refused_in_chinese(admin_api):
    response = admin_api.post("/api/v1/suppliers/", {"name": "AB\x00C"}, format="json", HTTP_ACCEPT_LANGUAGE=ZH)
    assert response.status_code == 400
    assert response.json() == {
        "message": f"输入无效：name：第 3 个字符是 U+0000（NUL）；{NO_CONTROL_CHARACTERS}",
        "code": "validation_failed",
        "errors": [
            {
                "message": f"第 3 个字符是 U+0000（NUL）；{NO_CONTROL_CHARACTERS}",
                "code": "forbidden_character",
                "field": "name",
            }
        ],
    }
    assert response["Content-Language"] == ZH


@pytest.mark.django_db
def test_a_body_nested_too_deep_is_refused_in_chinese(admin_api):
    body = {"a": 1}
    for _ in range(JSON_MAX_DEPTH):
        body = {"x": body}
    path = ".".join(["x"] * JSON_MAX_DEPTH)
    response = admin_api.post("/api/v1/suppliers/", body, format="json", HTTP_ACCEPT_LANGUAGE=ZH)
    assert response.status_code == 400
    assert response.json() == {
        "message": f"输入无效：{path}：JSON 嵌套超过 32 层。",
        "code": "validation_failed",
        "errors": [{"message": "JSON 嵌套超过 32 层。", "code": "too_deep", "field": path}],
    }


@pytest.mark.django_db
def test_a_quantity_over_the_limit_in_a_request_is_refused_in_chinese(admin_api):
    WarehouseFactory(code="SZ")
    ProductFactory(sku="CASE-1")
    payload = {"warehouse": "SZ", "reference": "order-line:1", "lines": [{"product": "CASE-1", "quantity": 10_000_001}]}
    response = admin_api.post("/api/v1/stock/reserve/", payload, format="json", HTTP_ACCEPT_LANGUAGE=ZH)
    assert response.status_code == 400
    # DRF's own message, in DRF's own Chinese, inside Seabridge's shape.
    assert response.json() == {
        "message": "输入无效：lines[0].quantity：请确保该值小于或者等于 10000000。",
        "code": "validation_failed",
        "errors": [{"message": "请确保该值小于或者等于 10000000。", "code": "max_value", "field": "lines[0].quantity"}],
    }


@pytest.mark.django_db
def test_a_service_refusal_is_chinese_and_english_by_default(admin_api):
    supplier = SupplierFactory(name="Acme")
    ProductFactory(sku="CASE-1")
    row = {"supplier": supplier.pk, "product": ProductFactory(sku="CASE-2").pk, "unit_cost": "1", "supplier_sku": "A-1"}
    assert admin_api.post("/api/v1/supplier-products/", row, format="json").status_code == 201
    again = {**row, "product": ProductFactory(sku="CASE-1").pk}
    chinese = admin_api.post("/api/v1/supplier-products/", again, format="json", HTTP_ACCEPT_LANGUAGE=ZH)
    english = admin_api.post("/api/v1/supplier-products/", again, format="json")
    assert chinese.status_code == english.status_code == 400
    assert chinese.json()["message"] == "供应商报价信息有误：supplier_sku：供应商 SKU A-1 已被 Acme 用于 CASE-2。"
    assert (
        english.json()["message"]
        == "Supplier product is invalid: supplier_sku: Supplier SKU A-1 is already used by Acme for CASE-2."
    )
    assert chinese.json()["errors"][0]["code"] == english.json()["errors"][0]["code"] == "unique"


@pytest.mark.django_db
def test_the_request_guard_answers_in_the_language_of_the_header_or_of_the_switcher(admin_api):
    expected = {
        "message": f"输入无效：search：查询参数 search：第 2 个字符是 U+0000（NUL）；{NO_CONTROL_CHARACTERS}",
        "code": "validation_failed",
        "errors": [
            {
                "message": f"查询参数 search：第 2 个字符是 U+0000（NUL）；{NO_CONTROL_CHARACTERS}",
                "code": "forbidden_character",
                "field": "search",
            }
        ],
    }
    by_header = admin_api.get("/api/v1/suppliers/", {"search": "A\x00"}, HTTP_ACCEPT_LANGUAGE=ZH)
    assert (by_header.status_code, by_header.json(), by_header["Content-Language"]) == (400, expected, ZH)
    assert "Accept-Language" in by_header["Vary"]

    admin_api.cookies["django_language"] = ZH  # the admin's language switcher
    by_cookie = admin_api.get("/api/v1/suppliers/", {"search": "A\x00"}, HTTP_ACCEPT_LANGUAGE="en")
    assert by_cookie.json() == expected


@pytest.mark.django_db
def test_drf_refusals_keep_their_code_and_speak_chinese():
    response = APIClient().get("/api/v1/suppliers/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response.status_code == 401
    assert response.json() == {"message": "身份认证信息未提供。", "code": "not_authenticated", "errors": []}


@pytest.mark.django_db
def test_an_unknown_api_address_is_named_in_chinese():
    response = Client().get("/api/v1/nothing-here/", HTTP_ACCEPT_LANGUAGE=ZH)
    assert response.status_code == 404
    assert response.json() == {"message": "地址 /api/v1/nothing-here/ 不存在。", "code": "not_found", "errors": []}


class _SupplierReference(ReferenceField):
    model = Supplier
    code_field = "name"
    noun = gettext_lazy("supplier")
    code_noun = gettext_lazy("name")

    def normalize(self, code: str) -> str:
        return code.strip()


@pytest.mark.django_db
def test_a_reference_that_names_nothing_is_said_in_chinese_and_its_schema_stays_english():
    with translation.override(ZH):
        with pytest.raises(serializers.ValidationError) as by_code:
            _SupplierReference().run_validation("Nobody Inc.")
        with pytest.raises(serializers.ValidationError) as by_id:
            _SupplierReference().run_validation(99)
        assert _schema_description(_SupplierReference) == "Supplier id (a number) or name (a string)."
    assert by_code.value.detail == ["找不到名称为 Nobody Inc. 的供应商。"]
    assert by_code.value.detail[0].code == "no_code"
    assert by_id.value.detail == ["找不到 id 为 99 的供应商。"]


@pytest.mark.django_db
def test_the_openapi_schema_stays_english_for_a_chinese_request():
    schema = Client().get("/api/schema/", {"format": "json"}, HTTP_ACCEPT_LANGUAGE=ZH).json()
    lead_time = schema["components"]["schemas"]["Supplier"]["properties"]["default_lead_time_days"]
    assert lead_time == {
        "type": "integer",
        "maximum": 32767,
        "minimum": 0,
        "description": "Days from order to receipt, unless the supplier product says otherwise.",
    }


# --- The admin ----------------------------------------------------------------------------------------------------


def column_titles(page: str) -> dict[str, str]:
    """The changelist's column titles as the page shows them, by column."""
    found = re.findall(r'<th[^>]*\bcolumn-(\w+)[^>]*>.*?<div class="text">(.*?)</div>', page, re.DOTALL)
    return {name: re.sub(r"<[^>]+>", "", text).strip() for name, text in found}


@pytest.mark.django_db
def test_the_supplier_lists_have_chinese_column_titles(make_user):
    SupplierProductFactory(supplier=SupplierFactory(name="Acme"))
    client = Client()
    client.force_login(make_user(superuser=True))
    response = client.get(reverse("admin:purchasing_supplier_changelist"), HTTP_ACCEPT_LANGUAGE=ZH)
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="zh-hans"' in page
    assert column_titles(page) == {
        "name": "名称",
        "contact_name": "联系人",
        "email": "邮箱",
        "phone": "电话",
        "currency": "币种",
        "default_lead_time_days": "默认采购周期（天）",
        "product_count": "商品数",
        "is_active": "启用",
    }
    offers = client.get(reverse("admin:purchasing_supplierproduct_changelist"), HTTP_ACCEPT_LANGUAGE=ZH)
    assert column_titles(offers.content.decode()) == {
        "supplier": "供应商",
        "product_sku": "SKU",
        "product_name": "商品",
        "supplier_sku": "供应商 SKU",
        "unit_cost": "采购单价",
        "minimum_order_quantity": "最小起订量",
        "case_pack": "箱规",
        "lead_time": "采购周期（天）",
        "is_preferred": "首选",
    }

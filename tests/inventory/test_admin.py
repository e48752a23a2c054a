"""Inventory admin: changelists (with query budgets), change forms, import with preview and confirm, export,
and the bin generator page, driven through Django's test client as a superuser."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import Bin, BundleComponent, Product
from tests.inventory.factories import (
    BinFactory,
    BundleComponentFactory,
    BundleFactory,
    ProductFactory,
    WarehouseFactory,
    ean13,
)

pytestmark = pytest.mark.django_db

CSV_FORMAT, XLSX_FORMAT = "0", "1"


@pytest.fixture
def admin_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user(superuser=True))
    return client


def queries_of(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def import_preview(client: Client, model: str, name: str, content: bytes, file_format: str = CSV_FORMAT):
    url = reverse(f"admin:inventory_{model}_import")
    return client.post(url, {"resource": "0", "format": file_format, "import_file": upload(name, content)})


def confirm(client: Client, model: str, preview):
    return client.post(reverse(f"admin:inventory_{model}_process_import"), preview.context["confirm_form"].initial)


# --- changelists ----------------------------------------------------------------------------------------


def make_products(count: int) -> None:
    for _ in range(count):
        BundleComponentFactory()


def make_bins(count: int) -> None:
    warehouse = WarehouseFactory(code="SZ1")
    for _ in range(count):
        BinFactory(warehouse=warehouse)


@pytest.mark.parametrize(
    ("model", "make"),
    [
        ("product", make_products),
        ("bundlecomponent", make_products),
        ("warehouse", lambda count: [WarehouseFactory() for _ in range(count)]),
        ("bin", make_bins),
    ],
)
def test_changelist_queries_do_not_grow_with_rows(admin_client, model, make):
    url = reverse(f"admin:inventory_{model}_changelist")
    make(1)
    with_one = queries_of(admin_client, url)
    make(6)
    assert queries_of(admin_client, url) == with_one


@pytest.mark.parametrize("model", ["product", "bundlecomponent", "warehouse", "bin"])
def test_master_data_changelists_and_add_pages_open(admin_client, model):
    assert admin_client.get(reverse(f"admin:inventory_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:inventory_{model}_add")).status_code == 200


def test_every_inventory_model_is_in_the_admin():
    from django.apps import apps
    from django.contrib import admin

    missing = [
        model.__name__ for model in apps.get_app_config("inventory").get_models() if not admin.site.is_registered(model)
    ]
    # Lines and events of transfers and counts are shown inline on their document.
    assert sorted(missing) == [
        "StockCountBin",
        "StockCountEvent",
        "StockCountLine",
        "TransferEvent",
        "TransferLine",
    ]


def test_product_changelist_is_in_natural_sku_order_and_searchable(admin_client):
    for sku in ("SKU-10", "SKU-2", "SKU-1"):
        ProductFactory(sku=sku, name=f"Name of {sku}")
    url = reverse("admin:inventory_product_changelist")
    content = admin_client.get(url).content.decode()
    positions = [content.index(f">{sku}<") for sku in ("SKU-1", "SKU-2", "SKU-10")]
    assert positions == sorted(positions)

    found = admin_client.get(url, {"q": "sku-2"})
    assert [product.sku for product in found.context["cl"].result_list] == ["SKU-2"]


def test_product_change_form_shows_its_components(admin_client):
    line = BundleComponentFactory(component=ProductFactory(sku="PART-7"), quantity=3)
    response = admin_client.get(reverse("admin:inventory_product_change", args=[line.bundle.pk]))
    assert response.status_code == 200
    assert "PART-7" in response.content.decode()
    formset = response.context["inline_admin_formsets"][0].formset
    assert [(form.instance.component.sku, form.instance.quantity) for form in formset.forms[:1]] == [("PART-7", 3)]


def test_product_added_in_the_admin_gets_its_components_through_the_service(admin_client):
    part = ProductFactory(sku="PART-1")
    data = {
        "sku": " kit-new ",
        "name": "New kit",
        "barcode": "",
        "is_bundle": "on",
        "is_active": "on",
        "declared_currency": "USD",
        "origin_country": "CN",
        "cost_currency": "CNY",
        "components-TOTAL_FORMS": "1",
        "components-INITIAL_FORMS": "0",
        "components-MIN_NUM_FORMS": "0",
        "components-MAX_NUM_FORMS": "1000",
        "components-0-component": str(part.pk),
        "components-0-quantity": "2",
    }
    response = admin_client.post(reverse("admin:inventory_product_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    kit = Product.objects.get(sku="KIT-NEW")
    assert (kit.name, kit.is_bundle) == ("New kit", True)
    assert list(kit.components.values_list("component__sku", "quantity")) == [("PART-1", 2)]


def test_service_refusal_in_the_admin_is_a_message_not_a_server_error(admin_client):
    line = BundleComponentFactory(component=ProductFactory(sku="PART-1"))
    bundle = line.bundle
    data = {
        "sku": bundle.sku,
        "name": bundle.name,
        "barcode": bundle.barcode,
        "is_active": "on",  # is_bundle left off while the bundle keeps its component
        "declared_currency": "USD",
        "origin_country": "CN",
        "cost_currency": "CNY",
        "components-TOTAL_FORMS": "1",
        "components-INITIAL_FORMS": "1",
        "components-MIN_NUM_FORMS": "0",
        "components-MAX_NUM_FORMS": "1000",
        "components-0-id": str(line.pk),
        "components-0-bundle": str(bundle.pk),
        "components-0-component": str(line.component.pk),
        "components-0-quantity": str(line.quantity),
    }
    url = reverse("admin:inventory_product_change", args=[bundle.pk])
    response = admin_client.post(url, data, follow=True)
    assert response.status_code == 200
    messages = [str(message) for message in response.context["messages"]]
    assert any("still has bundle components" in message for message in messages)
    bundle.refresh_from_db()
    assert bundle.is_bundle is True


def test_bundle_line_added_and_changed_in_the_admin(admin_client):
    kit = BundleFactory(sku="KIT-1")
    first, second = ProductFactory(sku="PART-1"), ProductFactory(sku="PART-2")
    BundleComponent.objects.create(bundle=kit, component=first, quantity=1)

    added = admin_client.post(
        reverse("admin:inventory_bundlecomponent_add"), {"bundle": kit.pk, "component": second.pk, "quantity": 3}
    )
    assert added.status_code == 302
    line = BundleComponent.objects.get(bundle=kit, component=second)
    changed = admin_client.post(reverse("admin:inventory_bundlecomponent_change", args=[line.pk]), {"quantity": 5})
    assert changed.status_code == 302
    assert list(kit.components.order_by("id").values_list("component__sku", "quantity")) == [
        ("PART-1", 1),
        ("PART-2", 5),
    ]

    refused = admin_client.post(
        reverse("admin:inventory_bundlecomponent_add"),
        {"bundle": first.pk, "component": second.pk, "quantity": 1},
        follow=True,
    )
    assert any("is not a bundle" in str(message) for message in refused.context["messages"])
    assert not BundleComponent.objects.filter(bundle=first).exists()


# --- import and export -----------------------------------------------------------------------------------


def test_product_import_previews_then_confirm_saves(admin_client):
    content = f"sku,name,barcode,cost_price\nnew-1,First,{ean13(11)},2.5\nNEW-2,Second,,3\n".encode()
    assert admin_client.get(reverse("admin:inventory_product_import")).status_code == 200

    preview = import_preview(admin_client, "product", "products.csv", content)
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "Below is a preview of data to be imported" in page and "Confirm import" in page
    assert [row.import_type for row in preview.context["result"].rows] == ["new", "new"]
    assert Product.objects.count() == 0  # a dry run

    done = confirm(admin_client, "product", preview)
    assert done.status_code == 302
    assert done["Location"] == reverse("admin:inventory_product_changelist")
    assert list(Product.objects.values_list("sku", "name", "barcode")) == [
        ("NEW-1", "First", ean13(11)),
        ("NEW-2", "Second", ""),
    ]


def test_admin_import_of_xlsx_bins(admin_client):
    WarehouseFactory(code="SZ1")
    workbook = openpyxl.Workbook()
    for row in [["warehouse", "code", "kind"], ["sz1", "a-01-01-01", "pick"], ["SZ1", "B-01-01-01", "bulk"]]:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)

    preview = import_preview(admin_client, "bin", "bins.xlsx", buffer.getvalue(), XLSX_FORMAT)
    assert "confirm_form" in preview.context
    assert confirm(admin_client, "bin", preview).status_code == 302
    assert list(Bin.objects.order_by("code").values_list("warehouse__code", "code", "kind")) == [
        ("SZ1", "A-01-01-01", "pick"),
        ("SZ1", "B-01-01-01", "bulk"),
    ]


def test_admin_import_with_bad_rows_lists_each_and_offers_no_confirm(admin_client):
    content = b"sku,name,hs_code,cost_price\nOK-1,Fine,,1\nOK-2,Bad HS,12,1\nOK-3,Bad cost,,-4\n"
    preview = import_preview(admin_client, "product", "products.csv", content)

    assert preview.status_code == 200
    assert "confirm_form" not in preview.context
    page = preview.content.decode()
    assert "Some rows failed to validate" in page
    invalid = preview.context["result"].invalid_rows
    assert [(row.number, sorted(row.field_specific_errors)) for row in invalid] == [
        (3, ["hs_code"]),
        (4, ["cost_price"]),
    ]
    assert "HS code 12 must be 6 to 10 digits" in page
    assert Product.objects.count() == 0


def test_bundle_component_import_through_the_admin(admin_client):
    BundleFactory(sku="KIT-1")
    ProductFactory(sku="PART-1")
    preview = import_preview(
        admin_client, "bundlecomponent", "lines.csv", b"bundle,component,quantity\nKIT-1,PART-1,4\n"
    )
    assert confirm(admin_client, "bundlecomponent", preview).status_code == 302
    assert list(BundleComponent.objects.values_list("bundle__sku", "component__sku", "quantity")) == [
        ("KIT-1", "PART-1", 4)
    ]


def test_rows_broken_between_preview_and_confirm_roll_the_whole_import_back(admin_client):
    BundleFactory(sku="KIT-1")
    ProductFactory(sku="PART-1")
    doomed = ProductFactory(sku="PART-2")
    content = b"bundle,component,quantity\nKIT-1,PART-1,1\nKIT-1,PART-2,1\n"
    preview = import_preview(admin_client, "bundlecomponent", "lines.csv", content)
    assert "confirm_form" in preview.context
    doomed.delete()  # someone deletes a product before the import is confirmed

    done = admin_client.post(
        reverse("admin:inventory_bundlecomponent_process_import"), preview.context["confirm_form"].initial, follow=True
    )
    assert done.redirect_chain == [(reverse("admin:inventory_bundlecomponent_import"), 302)]
    assert [str(message) for message in done.context["messages"]] == [
        "Nothing was imported. row 3: component: No product with SKU PART-2."
    ]
    assert BundleComponent.objects.count() == 0


def test_admin_import_reads_a_gb18030_csv_with_labels_and_windows_line_ends(admin_client):
    # What a Chinese Excel saves as "CSV": GB18030, CRLF, the column labels people see in the admin.
    content = (
        "SKU,Name,Declared name (Chinese),HS code\r\n"
        "case-1,Phone case,手机壳,392690\r\n"
        "\r\n"
        "case-2,'+Cable,数据线,854442\r\n"
    ).encode("gb18030")

    preview = import_preview(admin_client, "product", "products.csv", content)
    assert "confirm_form" in preview.context, preview.content.decode()
    assert confirm(admin_client, "product", preview).status_code == 302

    assert list(Product.objects.values_list("sku", "name", "declared_name_zh", "hs_code")) == [
        ("CASE-1", "Phone case", "手机壳", "392690"),
        ("CASE-2", "+Cable", "数据线", "854442"),
    ]


def test_admin_import_refuses_a_bad_cell_on_the_upload_naming_row_and_column(admin_client):
    content = "sku,name\nCASE-1,Fine\n\nCASE-2,Bad\x00name\nCASE-3,{long}\n".format(long="x" * 200_000).encode()

    preview = import_preview(admin_client, "product", "products.csv", content)

    assert preview.status_code == 200
    assert "confirm_form" not in preview.context
    assert preview.context["form"].errors["import_file"] == [
        "The file has 2 cells that cannot be imported; nothing was saved.",
        "Row 4, name: Contains U+0000 (NUL) at position 4; control characters are not allowed in text.",
        "Row 5, name: The cell has more than 32,767 characters (Excel's limit for a cell).",
    ]
    assert Product.objects.count() == 0


def test_admin_import_refuses_a_bad_header_before_any_row(admin_client):
    preview = import_preview(admin_client, "product", "products.csv", b"SKU,Name,Colour,sku\nCASE-1,Fine,red,x\n")

    assert "confirm_form" not in preview.context
    page = preview.content.decode()
    assert "The header (row 1) is not valid: Column &#x27;Colour&#x27; is not a column of this import" in page
    assert "Row 1, sku: Columns &#x27;SKU&#x27; and &#x27;sku&#x27; are both sku" in page
    assert "Traceback" not in page
    assert Product.objects.count() == 0


def test_admin_reports_spreadsheet_rows_after_blank_and_multi_line_rows(admin_client):
    content = b'sku,name,cost_price\nOK-1,"Two\nlines",1\n\nOK-2,Bad cost,-4\n'

    preview = import_preview(admin_client, "product", "products.csv", content)

    assert [row.number for row in preview.context["result"].invalid_rows] == [4]


def test_product_export_as_csv_escapes_formulas(admin_client):
    ProductFactory(sku="X-1", name="=2+2")
    response = admin_client.post(
        reverse("admin:inventory_product_export"),
        {"format": CSV_FORMAT, "resource": "0", "productresource_sku": "on", "productresource_name": "on"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert re.match(r'attachment; filename="Product-\d{4}-\d{2}-\d{2}\.csv"', response["Content-Disposition"])
    assert response.content.decode().splitlines() == ["sku,name", "X-1,'=2+2"]


def test_bin_export_as_xlsx(admin_client):
    BinFactory(warehouse=WarehouseFactory(code="SZ1"), code="A-01-01-01")
    fields = {f"binresource_{name}": "on" for name in ("warehouse", "code", "kind")}
    response = admin_client.post(
        reverse("admin:inventory_bin_export"), {"format": XLSX_FORMAT, "resource": "0", **fields}
    )
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [[cell.value for cell in row] for row in sheet.rows] == [
        ["warehouse", "code", "kind"],
        ["SZ1", "A-01-01-01", "pick"],
    ]


def test_staff_without_add_rights_cannot_import(make_user):
    client = Client()
    client.force_login(make_user("Picker/packer"))
    assert client.get(reverse("admin:inventory_product_changelist")).status_code == 200
    assert client.get(reverse("admin:inventory_product_import")).status_code == 403


# --- bin generator ---------------------------------------------------------------------------------------


def test_bin_generator_page_creates_a_block(admin_client):
    warehouse = WarehouseFactory(code="SZ1")
    url = reverse("admin:inventory_bin_generate")
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "Generate bins" in page.content.decode()
    assert url in admin_client.get(reverse("admin:inventory_bin_changelist")).content.decode()

    response = admin_client.post(
        url,
        {
            "warehouse": warehouse.pk,
            "zones": "a, b",
            "aisle_from": 1,
            "aisle_to": 2,
            "rack_from": 1,
            "rack_to": 2,
            "level_from": 1,
            "level_to": 1,
            "kind": "pick",
            "width": 2,
            "is_sellable": "",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:inventory_bin_changelist") + f"?warehouse__id__exact={warehouse.pk}"
    assert Bin.objects.filter(warehouse=warehouse).count() == 8
    assert list(
        Bin.objects.filter(warehouse=warehouse).order_by("pick_sequence").values_list("code", flat=True)[:4]
    ) == [
        "A-01-01-01",
        "A-01-02-01",
        "A-02-02-01",
        "A-02-01-01",
    ]


def test_bin_generator_page_shows_service_errors_and_creates_nothing(admin_client):
    warehouse = WarehouseFactory(code="SZ1")
    response = admin_client.post(
        reverse("admin:inventory_bin_generate"),
        {
            "warehouse": warehouse.pk,
            "zones": "A",
            "aisle_from": 5,
            "aisle_to": 2,
            "rack_from": 1,
            "rack_to": 1,
            "level_from": 1,
            "level_to": 1,
            "kind": "pick",
            "width": 2,
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["aisle_from"] == ["aisles range 5–2 is empty: first must not be greater than last."]
    assert "Cannot generate bins in warehouse SZ1" in form.non_field_errors()[0]
    assert Bin.objects.count() == 0


def test_bin_generator_needs_add_rights(make_user):
    client = Client()
    client.force_login(make_user("Picker/packer"))
    assert client.get(reverse("admin:inventory_bin_generate")).status_code == 403


def test_import_and_export_pages_list_the_columns_by_key_and_in_chinese_by_name(admin_client):
    for name in ("import", "export"):
        url = reverse(f"admin:inventory_product_{name}")
        english = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        chinese = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
        assert "weight_g" in english and "weight_g (" not in english and "Weight G" not in english
        assert "weight_g（重量（克））" in chinese
        assert "declared_name_zh（中文申报名）" in chinese
        assert "Weight G" not in chinese and "Barcode" not in chinese

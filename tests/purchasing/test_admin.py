"""Purchasing admin: changelists with query budgets, change forms, the preferred flag, import and export."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from purchasing.models import Supplier, SupplierProduct
from tests.inventory.factories import ProductFactory
from tests.purchasing.factories import SupplierFactory, SupplierProductFactory

pytestmark = pytest.mark.django_db


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


@pytest.mark.parametrize("model", ["supplier", "supplierproduct"])
def test_changelist_queries_do_not_grow_with_rows(admin_client, model):
    url = reverse(f"admin:purchasing_{model}_changelist")
    SupplierProductFactory()
    with_one = queries_of(admin_client, url)
    for _ in range(8):
        SupplierProductFactory()
    assert queries_of(admin_client, url) == with_one
    assert with_one <= 10


def test_supplier_changelist_shows_product_counts_and_searches(admin_client):
    acme = SupplierFactory(name="Acme")
    SupplierProductFactory(supplier=acme)
    SupplierProductFactory(supplier=acme)
    SupplierFactory(name="Bolt")
    url = reverse("admin:purchasing_supplier_changelist")
    result = admin_client.get(url).context["cl"].result_list
    assert [(supplier.name, supplier.product_count) for supplier in result] == [("Acme", 2), ("Bolt", 0)]
    assert [supplier.name for supplier in admin_client.get(url, {"q": "bol"}).context["cl"].result_list] == ["Bolt"]


def test_supplier_change_form_lists_its_products(admin_client):
    row = SupplierProductFactory(product=ProductFactory(sku="CASE-7"))
    response = admin_client.get(reverse("admin:purchasing_supplier_change", args=[row.supplier.pk]))
    assert response.status_code == 200
    assert "CASE-7" in response.content.decode()
    assert admin_client.get(reverse("admin:purchasing_supplier_add")).status_code == 200
    assert admin_client.get(reverse("admin:purchasing_supplierproduct_change", args=[row.pk])).status_code == 200


def supplier_product_form(row: SupplierProduct, **changes) -> dict:
    data = {
        "supplier": row.supplier_id,
        "product": row.product_id,
        "supplier_sku": row.supplier_sku,
        "unit_cost": str(row.unit_cost),
        "minimum_order_quantity": row.minimum_order_quantity,
        "case_pack": row.case_pack,
        "lead_time_days": "" if row.lead_time_days is None else row.lead_time_days,
    }
    if row.is_preferred:
        data["is_preferred"] = "on"
    data.update(changes)
    return data


def test_ticking_preferred_in_the_admin_moves_the_flag(admin_client):
    product = ProductFactory()
    preferred = SupplierProductFactory(product=product, is_preferred=True)
    other = SupplierProductFactory(product=product)

    response = admin_client.post(
        reverse("admin:purchasing_supplierproduct_change", args=[other.pk]),
        supplier_product_form(other, is_preferred="on", unit_cost="7.25"),
    )
    assert response.status_code == 302
    preferred.refresh_from_db()
    other.refresh_from_db()
    assert (preferred.is_preferred, other.is_preferred, other.unit_cost) == (False, True, Decimal("7.2500"))


def test_supplier_added_with_an_inline_product_goes_through_the_services(admin_client):
    product = ProductFactory(sku="CASE-1")
    preferred_elsewhere = SupplierProductFactory(product=product, is_preferred=True)
    data = {
        "name": " Newco ",
        "contact_name": "",
        "email": "",
        "phone": "",
        "address": "",
        "currency": "usd",
        "default_lead_time_days": "12",
        "notes": "",
        "is_active": "on",
        "supplier_products-TOTAL_FORMS": "1",
        "supplier_products-INITIAL_FORMS": "0",
        "supplier_products-MIN_NUM_FORMS": "0",
        "supplier_products-MAX_NUM_FORMS": "1000",
        "supplier_products-0-product": str(product.pk),
        "supplier_products-0-supplier_sku": "N-1",
        "supplier_products-0-unit_cost": "4.40",
        "supplier_products-0-minimum_order_quantity": "10",
        "supplier_products-0-case_pack": "5",
        "supplier_products-0-lead_time_days": "",
        "supplier_products-0-is_preferred": "on",
    }
    response = admin_client.post(reverse("admin:purchasing_supplier_add"), data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    supplier = Supplier.objects.get(name="Newco")
    assert (supplier.currency, supplier.default_lead_time_days) == ("USD", 12)
    assert list(
        supplier.supplier_products.values_list("product__sku", "supplier_sku", "unit_cost", "is_preferred")
    ) == [("CASE-1", "N-1", Decimal("4.4000"), True)]
    preferred_elsewhere.refresh_from_db()
    assert preferred_elsewhere.is_preferred is False


def test_supplier_product_import_preview_then_confirm(admin_client):
    SupplierFactory(name="Acme")
    ProductFactory(sku="CASE-1")
    content = b"supplier,product,unit_cost,minimum_order_quantity,case_pack,is_preferred\nAcme,case-1,2.75,100,20,1\n"
    preview = admin_client.post(
        reverse("admin:purchasing_supplierproduct_import"),
        {"resource": "0", "format": "0", "import_file": SimpleUploadedFile("offers.csv", content)},
    )
    assert preview.status_code == 200
    assert "Confirm import" in preview.content.decode()
    assert SupplierProduct.objects.count() == 0

    done = admin_client.post(
        reverse("admin:purchasing_supplierproduct_process_import"), preview.context["confirm_form"].initial, follow=True
    )
    assert done.status_code == 200
    assert [str(message) for message in done.context["messages"]] == [
        "Import finished: 1 new, 0 updated, 0 deleted and 0 skipped supplier products."
    ]
    assert list(SupplierProduct.objects.values_list("supplier__name", "product__sku", "unit_cost", "is_preferred")) == [
        ("Acme", "CASE-1", Decimal("2.7500"), True)
    ]


def test_supplier_import_with_bad_rows_is_refused_in_the_preview(admin_client):
    content = b"name,currency,default_lead_time_days\nGood Co,CNY,5\nBad Co,ZZZ,5\nWorse Co,CNY,-1\n"
    preview = admin_client.post(
        reverse("admin:purchasing_supplier_import"),
        {"resource": "0", "format": "0", "import_file": SimpleUploadedFile("suppliers.csv", content)},
    )
    assert "confirm_form" not in preview.context
    assert [(row.number, sorted(row.field_specific_errors)) for row in preview.context["result"].invalid_rows] == [
        (3, ["currency"]),
        (4, ["default_lead_time_days"]),
    ]
    assert Supplier.objects.count() == 0


def test_supplier_import_reads_gb18030_with_windows_line_ends(admin_client):
    content = 'name,Contact name,currency,notes\r\n深圳供应商,王先生,CNY,"第一行\r\n第二行"\r\n'.encode("gb18030")
    preview = admin_client.post(
        reverse("admin:purchasing_supplier_import"),
        {"resource": "0", "format": "0", "import_file": SimpleUploadedFile("suppliers.csv", content)},
    )
    assert "confirm_form" in preview.context, preview.content.decode()
    admin_client.post(reverse("admin:purchasing_supplier_process_import"), preview.context["confirm_form"].initial)

    assert list(Supplier.objects.values_list("name", "contact_name", "currency", "notes")) == [
        ("深圳供应商", "王先生", "CNY", "第一行\r\n第二行")
    ]


def test_supplier_export_escapes_formulas(admin_client):
    SupplierFactory(name='=HYPERLINK("x")', currency="USD")
    response = admin_client.post(
        reverse("admin:purchasing_supplier_export"),
        {"format": "0", "resource": "0", "supplierresource_name": "on", "supplierresource_currency": "on"},
    )
    assert response.status_code == 200
    assert response.content.decode().splitlines() == ["name,currency", '"\'=HYPERLINK(""x"")",USD']


def test_picker_cannot_open_purchasing_admin(make_user):
    client = Client()
    client.force_login(make_user("Picker/packer"))
    assert client.get(reverse("admin:purchasing_supplier_changelist")).status_code == 403

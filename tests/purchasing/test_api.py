"""Purchasing API: suppliers and supplier products, permissions, filters, query budgets, the preferred rule."""

from __future__ import annotations

from decimal import Decimal

import pytest

from purchasing.models import Supplier, SupplierProduct
from tests.inventory.factories import ProductFactory
from tests.purchasing.factories import SupplierFactory, SupplierProductFactory

pytestmark = pytest.mark.django_db

SUPPLIERS = "/api/v1/suppliers/"
SUPPLIER_PRODUCTS = "/api/v1/supplier-products/"


@pytest.fixture
def purchaser(api_client_for):
    return api_client_for("Purchaser")


# --- permissions ---------------------------------------------------------------------------------------


def test_anonymous_gets_401_in_the_one_error_shape(anonymous_api):
    response = anonymous_api.get(SUPPLIERS)
    assert response.status_code == 401
    assert response.json() == {
        "message": "Authentication credentials were not provided.",
        "code": "not_authenticated",
        "errors": [],
    }


def test_picker_packer_gets_403_on_reads_and_writes(api_client_for):
    picker = api_client_for("Picker/packer")
    supplier = SupplierFactory()
    assert picker.get(SUPPLIERS).status_code == 403
    assert picker.get(SUPPLIER_PRODUCTS).status_code == 403
    assert picker.patch(f"{SUPPLIERS}{supplier.pk}/", {"notes": "x"}).status_code == 403
    assert picker.post(SUPPLIERS, {"name": "New"}).status_code == 403
    supplier.refresh_from_db()
    assert supplier.notes == ""
    assert Supplier.objects.count() == 1


def test_warehouse_manager_can_read_but_not_edit_suppliers(api_client_for):
    manager = api_client_for("Warehouse manager")
    supplier = SupplierFactory(name="Acme")
    assert manager.get(f"{SUPPLIERS}{supplier.pk}/").json()["name"] == "Acme"
    assert manager.patch(f"{SUPPLIERS}{supplier.pk}/", {"name": "Changed"}).status_code == 403


def test_purchaser_creates_and_edits_a_supplier(purchaser):
    response = purchaser.post(
        SUPPLIERS,
        {"name": "  Dongguan Cables ", "currency": "usd", "default_lead_time_days": 14, "email": "a@b.example"},
    )
    assert response.status_code == 201
    body = response.json()
    assert {key: body[key] for key in ("name", "currency", "default_lead_time_days", "email", "is_active")} == {
        "name": "Dongguan Cables",
        "currency": "USD",
        "default_lead_time_days": 14,
        "email": "a@b.example",
        "is_active": True,
    }

    response = purchaser.patch(f"{SUPPLIERS}{body['id']}/", {"default_lead_time_days": 21, "is_active": False})
    assert response.status_code == 200
    supplier = Supplier.objects.get(pk=body["id"])
    assert (supplier.name, supplier.default_lead_time_days, supplier.is_active) == ("Dongguan Cables", 21, False)


def test_supplier_validation_errors_name_each_field(purchaser):
    SupplierFactory(name="Taken")
    response = purchaser.post(SUPPLIERS, {"name": "Taken", "currency": "XXY", "default_lead_time_days": -1})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_failed"
    assert sorted((error["field"], error["code"]) for error in body["errors"]) == [
        ("default_lead_time_days", "min_value"),
        ("name", "unique"),
    ]

    response = purchaser.post(SUPPLIERS, {"name": "Fresh", "currency": "XXY"})
    assert response.status_code == 400
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == [("currency", "currency")]
    assert Supplier.objects.count() == 1


def test_suppliers_have_no_delete(purchaser):
    supplier = SupplierFactory()
    assert purchaser.delete(f"{SUPPLIERS}{supplier.pk}/").status_code == 405
    assert Supplier.objects.filter(pk=supplier.pk).exists()


# --- lists ---------------------------------------------------------------------------------------------


def test_supplier_list_search_filter_and_pagination(purchaser):
    SupplierFactory(name="Alpha Plastics", currency="CNY")
    SupplierFactory(name="Beta Metals", currency="USD", is_active=False)
    SupplierFactory(name="Gamma Plastics", currency="USD")

    names = lambda response: [row["name"] for row in response.json()["results"]]  # noqa: E731
    assert names(purchaser.get(SUPPLIERS, {"search": "plastics"})) == ["Alpha Plastics", "Gamma Plastics"]
    assert names(purchaser.get(SUPPLIERS, {"currency": "usd"})) == ["Beta Metals", "Gamma Plastics"]
    assert names(purchaser.get(SUPPLIERS, {"is_active": "false"})) == ["Beta Metals"]
    page = purchaser.get(SUPPLIERS, {"page_size": 2, "page": 2}).json()
    assert (page["count"], [row["name"] for row in page["results"]]) == (3, ["Gamma Plastics"])


def test_supplier_product_filters_by_supplier_product_sku_and_preferred(purchaser):
    acme, bolt = SupplierFactory(name="Acme"), SupplierFactory(name="Bolt")
    case, film = ProductFactory(sku="CASE-1"), ProductFactory(sku="FILM-1")
    acme_case = SupplierProductFactory(supplier=acme, product=case, is_preferred=True)
    bolt_case = SupplierProductFactory(supplier=bolt, product=case)
    acme_film = SupplierProductFactory(supplier=acme, product=film, supplier_sku="ZX-9")

    ids = lambda params: [row["id"] for row in purchaser.get(SUPPLIER_PRODUCTS, params).json()["results"]]  # noqa: E731
    assert ids({"supplier": acme.pk}) == [acme_case.pk, acme_film.pk]
    assert ids({"product": case.pk}) == [acme_case.pk, bolt_case.pk]
    assert ids({"product_sku": " case-1 "}) == [acme_case.pk, bolt_case.pk]
    assert ids({"is_preferred": "true"}) == [acme_case.pk]
    assert ids({"search": "zx-9"}) == [acme_film.pk]
    assert ids({"search": "bolt"}) == [bolt_case.pk]

    row = purchaser.get(f"{SUPPLIER_PRODUCTS}{acme_case.pk}/").json()
    assert {key: row[key] for key in ("supplier", "supplier_name", "product", "product_sku", "unit_cost")} == {
        "supplier": acme.pk,
        "supplier_name": "Acme",
        "product": case.pk,
        "product_sku": "CASE-1",
        "unit_cost": "12.5000",
    }
    assert (row["lead_time_days"], row["effective_lead_time_days"]) == (None, 7)


@pytest.mark.parametrize("url", [SUPPLIERS, SUPPLIER_PRODUCTS])
def test_lists_run_the_same_queries_for_1_and_50_rows(purchaser, django_assert_num_queries, url):
    def rows(count: int) -> None:
        for _ in range(count):
            SupplierProductFactory()

    rows(1)
    # the token with its user and their permissions, count, page
    with django_assert_num_queries(3) as one:
        response = purchaser.get(url)
    assert response.json()["count"] == 1

    rows(49)
    with django_assert_num_queries(len(one.captured_queries)):
        response = purchaser.get(url)
    assert (response.json()["count"], len(response.json()["results"])) == (50, 50)


# --- supplier products and the preferred flag ----------------------------------------------------------------


def test_purchaser_creates_a_supplier_product_and_the_preferred_flag_moves(purchaser):
    product = ProductFactory(sku="CASE-1")
    old = SupplierProductFactory(product=product, is_preferred=True)
    supplier = SupplierFactory(name="Newco", default_lead_time_days=9)

    response = purchaser.post(
        SUPPLIER_PRODUCTS,
        {
            "supplier": supplier.pk,
            "product": product.pk,
            "supplier_sku": " NC-1 ",
            "unit_cost": "3.20",
            "minimum_order_quantity": 100,
            "case_pack": 50,
            "is_preferred": True,
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert {
        key: body[key] for key in ("supplier_name", "product_sku", "supplier_sku", "unit_cost", "is_preferred")
    } == {
        "supplier_name": "Newco",
        "product_sku": "CASE-1",
        "supplier_sku": "NC-1",
        "unit_cost": "3.2000",
        "is_preferred": True,
    }
    assert body["effective_lead_time_days"] == 9
    old.refresh_from_db()
    assert old.is_preferred is False
    assert list(SupplierProduct.objects.filter(product=product, is_preferred=True).values_list("pk", flat=True)) == [
        body["id"]
    ]

    response = purchaser.patch(f"{SUPPLIER_PRODUCTS}{old.pk}/", {"is_preferred": True})
    assert response.status_code == 200
    assert list(SupplierProduct.objects.filter(product=product, is_preferred=True).values_list("pk", flat=True)) == [
        old.pk
    ]


def test_supplier_product_errors(purchaser):
    supplier = SupplierFactory()
    product = ProductFactory()
    SupplierProductFactory(supplier=supplier, product=product)

    response = purchaser.post(
        SUPPLIER_PRODUCTS, {"supplier": supplier.pk, "product": product.pk, "unit_cost": "1.00", "case_pack": 0}
    )
    assert response.status_code == 400
    assert sorted((error["field"], error["code"]) for error in response.json()["errors"]) == [
        ("case_pack", "min_value")
    ]

    response = purchaser.post(SUPPLIER_PRODUCTS, {"supplier": supplier.pk, "product": product.pk, "unit_cost": "1.00"})
    assert response.status_code == 400
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == [("product", "unique")]

    response = purchaser.post(SUPPLIER_PRODUCTS, {"supplier": supplier.pk, "product": 999999, "unit_cost": "-1"})
    assert response.status_code == 400
    assert sorted((error["field"], error["code"]) for error in response.json()["errors"]) == [
        ("product", "does_not_exist"),
        ("unit_cost", "min_value"),
    ]
    assert SupplierProduct.objects.count() == 1


def test_supplier_and_product_of_a_row_cannot_be_changed(purchaser):
    row = SupplierProductFactory()
    original_product_id = row.product_id
    other = ProductFactory()
    response = purchaser.patch(f"{SUPPLIER_PRODUCTS}{row.pk}/", {"product": other.pk, "unit_cost": "2.00"})
    assert response.status_code == 200
    assert response.json()["product"] == original_product_id
    row.refresh_from_db()
    assert (row.product_id, row.unit_cost) == (original_product_id, Decimal("2.0000"))


def test_purchaser_deletes_a_supplier_product_but_picker_cannot(purchaser, api_client_for):
    row = SupplierProductFactory()
    assert api_client_for("Picker/packer").delete(f"{SUPPLIER_PRODUCTS}{row.pk}/").status_code == 403
    assert purchaser.delete(f"{SUPPLIER_PRODUCTS}{row.pk}/").status_code == 204
    assert not SupplierProduct.objects.filter(pk=row.pk).exists()

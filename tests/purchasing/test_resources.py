"""Spreadsheet import/export of suppliers and supplier products."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from import_export.formats.base_formats import CSV, XLSX

from purchasing.models import Supplier, SupplierProduct
from purchasing.resources import SupplierProductResource, SupplierResource
from tests.inventory.factories import ProductFactory
from tests.purchasing.factories import SupplierFactory, SupplierProductFactory

pytestmark = pytest.mark.django_db


def csv_dataset(text: str):
    return CSV(encoding="utf-8").create_dataset(text)


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def offers() -> list[tuple]:
    return list(
        SupplierProduct.objects.order_by("supplier__name", "product__sku").values_list(
            "supplier__name",
            "product__sku",
            "supplier_sku",
            "unit_cost",
            "minimum_order_quantity",
            "case_pack",
            "lead_time_days",
            "is_preferred",
        )
    )


def test_good_csv_imports_suppliers_by_name():
    SupplierFactory(name="Acme", currency="CNY", default_lead_time_days=7)
    text = (
        "name,contact_name,email,currency,default_lead_time_days,is_active\n"
        "Acme,Wang Fang,wang@acme.example,usd,10,1\n"
        " Bolt Ltd ,,,eur,21,yes\n"
    )
    result = SupplierResource().import_or_raise(csv_dataset(text))

    assert (result.totals["new"], result.totals["update"]) == (1, 1)
    assert list(
        Supplier.objects.order_by("name").values_list("name", "contact_name", "currency", "default_lead_time_days")
    ) == [("Acme", "Wang Fang", "USD", 10), ("Bolt Ltd", "", "EUR", 21)]


def test_good_xlsx_imports_supplier_products_by_supplier_name_and_sku():
    SupplierFactory(name="Acme")
    SupplierFactory(name="Bolt")
    ProductFactory(sku="CASE-1")
    ProductFactory(sku="FILM-1")
    rows = [
        [
            "supplier",
            "product",
            "supplier_sku",
            "unit_cost",
            "minimum_order_quantity",
            "case_pack",
            "lead_time_days",
            "is_preferred",
        ],
        ["Acme", "case-1", "AC-77", 3.5, 100, 50, None, 1],
        ["Acme", "FILM-1", 1002, 0.25, 500, 100, 14, 0],
        ["Bolt", "CASE-1", None, "3.40", 200, 50, 30, "no"],
    ]
    result = SupplierProductResource().import_or_raise(XLSX().create_dataset(xlsx_bytes(rows)))

    assert result.totals["new"] == 3
    assert offers() == [
        ("Acme", "CASE-1", "AC-77", Decimal("3.5000"), 100, 50, None, True),
        ("Acme", "FILM-1", "1002", Decimal("0.2500"), 500, 100, 14, False),
        ("Bolt", "CASE-1", "", Decimal("3.4000"), 200, 50, 30, False),
    ]


def test_bad_supplier_product_rows_save_nothing_and_are_all_reported():
    SupplierFactory(name="Acme")
    ProductFactory(sku="CASE-1")
    ProductFactory(sku="FILM-1")
    kept = SupplierProductFactory(
        supplier=Supplier.objects.get(name="Acme"), product=ProductFactory(sku="MUG-1"), unit_cost=Decimal("2")
    )
    text = (
        "supplier,product,unit_cost,case_pack,is_preferred\n"
        "Acme,MUG-1,9.99,1,\n"  # row 2: good update of an existing row
        "Acme,NOPE-1,1,1,\n"  # row 3: unknown SKU
        "Nobody Inc,CASE-1,1,1,\n"  # row 4: unknown supplier
        "Acme,CASE-1,-2,1,\n"  # row 5: negative cost
        "Acme,FILM-1,1,0,maybe\n"  # row 6: case pack 0 and a bad yes/no
        "Acme,case-1,1,1,\n"  # row 7: same supplier + SKU as row 5
    )
    resource = SupplierProductResource()
    result = resource.import_data(csv_dataset(text))

    assert [(error.row, error.field, error.code) for error in resource.errors(result)] == [
        (3, "product", "invalid"),
        (4, "supplier", "invalid"),
        (5, "unit_cost", "min_value"),
        (6, "is_preferred", "invalid"),
        (6, "case_pack", "min_value"),
        (7, "product", "duplicate"),
    ]
    messages = [error.message for error in resource.errors(result)]
    assert messages[:2] == ["No product with SKU NOPE-1.", "No supplier with name Nobody Inc."]
    assert messages[5] == "Acme + CASE-1 appears more than once in the file (first at row 5)."
    assert SupplierProduct.objects.count() == 1
    kept.refresh_from_db()
    assert kept.unit_cost == Decimal("2.0000")


def test_two_rows_marking_one_product_preferred_is_an_error():
    SupplierFactory(name="Acme")
    SupplierFactory(name="Bolt")
    ProductFactory(sku="CASE-1")
    resource = SupplierProductResource()
    result = resource.import_data(
        csv_dataset("supplier,product,unit_cost,is_preferred\nAcme,CASE-1,1,1\nBolt,CASE-1,1,true\n")
    )
    assert [(error.row, error.field, error.message) for error in resource.errors(result)] == [
        (
            3,
            "is_preferred",
            "Product CASE-1 is already marked preferred at row 2; a product has one preferred supplier.",
        )
    ]
    assert SupplierProduct.objects.count() == 0


def test_importing_a_preferred_row_moves_the_flag_from_the_database_row():
    product = ProductFactory(sku="CASE-1")
    old = SupplierProductFactory(product=product, is_preferred=True)
    SupplierFactory(name="Newco")

    SupplierProductResource().import_or_raise(
        csv_dataset("supplier,product,unit_cost,is_preferred\nNewco,CASE-1,2.10,yes\n")
    )

    old.refresh_from_db()
    assert old.is_preferred is False
    assert list(SupplierProduct.objects.filter(is_preferred=True).values_list("supplier__name", flat=True)) == ["Newco"]


@pytest.mark.parametrize("file_format", [CSV, XLSX])
def test_round_trip_keeps_formula_like_names(file_format):
    evil = SupplierFactory(name="=cmd|' /C calc'!A0", contact_name="@boss", notes="-3 days")
    SupplierProductFactory(supplier=evil, product=ProductFactory(sku="CASE-1"), supplier_sku="+44", is_preferred=True)
    suppliers_before = list(Supplier.objects.values_list("name", "contact_name", "notes", "currency"))
    offers_before = offers()

    supplier_rows = SupplierResource().export()
    offer_rows = SupplierProductResource().export()
    assert supplier_rows.dict[0]["name"] == "'=cmd|' /C calc'!A0"
    assert supplier_rows.dict[0]["contact_name"] == "'@boss"
    assert offer_rows.dict[0]["supplier"] == "'=cmd|' /C calc'!A0"
    assert offer_rows.dict[0]["supplier_sku"] == "'+44"
    supplier_file = file_format().export_data(supplier_rows)
    offer_file = file_format().export_data(offer_rows)

    Supplier.objects.all().delete()  # cascades to the supplier products
    SupplierResource().import_or_raise(file_format(encoding="utf-8").create_dataset(supplier_file))
    SupplierProductResource().import_or_raise(file_format(encoding="utf-8").create_dataset(offer_file))

    assert list(Supplier.objects.values_list("name", "contact_name", "notes", "currency")) == suppliers_before
    assert offers() == offers_before

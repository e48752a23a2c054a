"""Spreadsheet import/export of products, bundle components and bins: good files, bad files, round trips."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from import_export.formats.base_formats import CSV, XLSX

from core.errors import ValidationFailed
from inventory.models import Bin, BundleComponent, Product
from inventory.resources import BinResource, BundleComponentResource, ProductResource
from tests.inventory.factories import BundleFactory, ProductFactory, WarehouseFactory, ean13

pytestmark = pytest.mark.django_db


def csv_dataset(text: str):
    return CSV(encoding="utf-8").create_dataset(text)


def xlsx_dataset(rows: list[list]):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return XLSX().create_dataset(buffer.getvalue())


def error_triples(resource, result) -> list[tuple[int | None, str | None, str]]:
    return [(error.row, error.field, error.code) for error in resource.errors(result)]


def product_values(sku: str) -> tuple:
    product = Product.objects.get(sku=sku)
    return (
        product.name,
        product.barcode,
        product.weight_g,
        product.hs_code,
        product.declared_value,
        product.origin_country,
        product.cost_price,
        product.cost_currency,
        product.contains_battery,
        product.is_bundle,
    )


# --- products -------------------------------------------------------------------------------------------


def test_good_csv_creates_products_with_trimmed_upper_cased_codes():
    good_barcode = ean13(1)
    text = (
        "sku,name,barcode,weight_g,hs_code,declared_value,origin_country,cost_price,cost_currency,"
        "contains_battery,is_bundle\n"
        f" case-10 ,Phone case,{good_barcode},120,392690,2.50,cn,8.5,cny,no,0\n"
        "case-2,  Screen film ,,15,,,CN,1.25,CNY,yes,false\n"
    )
    resource = ProductResource()
    result = resource.import_or_raise(csv_dataset(text))

    assert result.totals["new"] == 2
    assert list(Product.objects.values_list("sku", flat=True)) == ["CASE-2", "CASE-10"]  # natural order
    assert product_values("CASE-10") == (
        "Phone case",
        good_barcode,
        120,
        "392690",
        Decimal("2.50"),
        "CN",
        Decimal("8.5000"),
        "CNY",
        False,
        False,
    )
    assert product_values("CASE-2") == ("Screen film", "", 15, "", None, "CN", Decimal("1.2500"), "CNY", True, False)


def test_good_xlsx_creates_products_and_reads_numbers_typed_in_text_columns():
    barcode = ean13(2)
    rows = [
        ["sku", "name", "barcode", "hs_code", "weight_g", "cost_price", "is_bundle"],
        ["usb-c-1m", "USB-C cable 1 m", int(barcode), 854442, 30, 4.2, 0],
        ["kit-1", "Cable kit", None, None, None, None, 1],
        [None, None, None, None, None, None, None],  # trailing blank line as spreadsheets save it
    ]
    resource = ProductResource()
    result = resource.import_or_raise(xlsx_dataset(rows))

    assert result.totals["new"] == 2
    cable = Product.objects.get(sku="USB-C-1M")
    assert (cable.name, cable.barcode, cable.hs_code, cable.weight_g, cable.cost_price, cable.is_bundle) == (
        "USB-C cable 1 m",
        barcode,
        "854442",
        30,
        Decimal("4.2000"),
        False,
    )
    kit = Product.objects.get(sku="KIT-1")
    assert (kit.barcode, kit.hs_code, kit.weight_g, kit.cost_price, kit.is_bundle) == ("", "", None, None, True)


def test_existing_sku_in_any_case_updates_the_product_instead_of_adding_one():
    ProductFactory(sku="MUG-1", name="Old name", cost_price=Decimal("3"))
    resource = ProductResource()
    result = resource.import_or_raise(csv_dataset("sku,name,cost_price\nmug-1,New name,4.75\n"))

    assert result.totals["update"] == 1
    assert Product.objects.count() == 1
    mug = Product.objects.get(sku="MUG-1")
    assert (mug.name, mug.cost_price, mug.hs_code) == ("New name", Decimal("4.7500"), "392690")


def test_file_with_bad_rows_saves_nothing_and_names_every_bad_row_and_column():
    existing = ProductFactory(sku="KEEP-1", name="Unchanged", cost_price=Decimal("1.0000"))
    bad_check_digit = ean13(3)[:-1] + str((int(ean13(3)[-1]) + 1) % 10)
    text = (
        "sku,name,barcode,hs_code,cost_price\n"
        "keep-1,Renamed by the file,,,2\n"  # row 2: good (an update)
        f"A-1,Good,{ean13(4)},392690,1\n"  # row 3: good
        f"A-2,Bad barcode,{bad_check_digit},,1\n"  # row 4
        "A-3,Bad HS code,,39.26,1\n"  # row 5
        "A-4,Negative cost,,,-0.5\n"  # row 6
        "a-1,Same SKU again,,,1\n"  # row 7: duplicate of row 3
        "A-5,Not a number,,,abc\n"  # row 8
        "A 6,Space in SKU,,,1\n"  # row 9
    )
    resource = ProductResource()
    result = resource.import_data(csv_dataset(text))

    assert error_triples(resource, result) == [
        (4, "barcode", "barcode_check_digit"),
        (5, "hs_code", "hs_code"),
        (6, "cost_price", "min_value"),
        (7, "sku", "duplicate"),
        (8, "cost_price", "invalid"),
        (9, "sku", "sku_format"),
    ]
    messages = {error.row: error.message for error in resource.errors(result)}
    # The product rules' own words, as the API and the bulk import say them.
    assert messages[7] == "SKU A-1 is also on row 3; a SKU may appear only once."
    assert messages[8] == (
        "Cost price must be a number, 0 or more, with at most 8 digits before the point and 4 after it; got 'abc'."
    )
    assert Product.objects.count() == 1
    existing.refresh_from_db()
    assert (existing.name, existing.cost_price) == ("Unchanged", Decimal("1.0000"))


def test_import_or_raise_raises_one_validation_failed_listing_every_row():
    resource = ProductResource()
    with pytest.raises(ValidationFailed) as caught:
        resource.import_or_raise(csv_dataset("sku,name\nOK-1,Fine\n,No SKU\nOK-2,\n"))

    assert caught.value.message == "Nothing was imported: 2 of 3 rows have errors."
    assert [(error.row, error.field) for error in caught.value.errors] == [(3, "sku"), (4, "name")]
    assert Product.objects.count() == 0


def test_missing_key_column_is_reported_and_nothing_is_saved():
    resource = ProductResource()
    result = resource.import_data(csv_dataset("name\nNo SKU column\n"))

    assert result.has_errors()
    assert "sku" in resource.errors(result)[0].message
    assert Product.objects.count() == 0


@pytest.mark.parametrize("file_format", [CSV, XLSX])
def test_export_escapes_formulas_and_reimports_unchanged(file_format):
    ProductFactory(sku="F-1", name='=HYPERLINK("http://evil")', declared_name_en="+cmd", declared_name_zh="-1")
    ProductFactory(sku="F-2", name="@SUM(A1)", barcode="", hs_code="", cost_price=None)
    before = {sku: product_values(sku) for sku in ("F-1", "F-2")}
    before_names = list(Product.objects.order_by("sku").values_list("declared_name_en", "declared_name_zh"))

    dataset = ProductResource().export()
    assert dataset.dict[0]["name"] == '\'=HYPERLINK("http://evil")'
    assert dataset.dict[0]["declared_name_en"] == "'+cmd"
    assert dataset.dict[0]["declared_name_zh"] == "'-1"
    assert dataset.dict[1]["name"] == "'@SUM(A1)"
    exported = file_format().export_data(dataset)

    Product.objects.all().delete()
    reread = (
        file_format(encoding="utf-8").create_dataset(exported)
        if file_format is CSV
        else file_format().create_dataset(exported)
    )
    result = ProductResource().import_or_raise(reread)

    assert result.totals["new"] == 2
    assert {sku: product_values(sku) for sku in ("F-1", "F-2")} == before
    assert Product.objects.get(sku="F-1").name == '=HYPERLINK("http://evil")'
    assert list(Product.objects.order_by("sku").values_list("declared_name_en", "declared_name_zh")) == before_names


def test_export_csv_text_shows_the_apostrophe_prefix():
    ProductFactory(sku="X-1", name="=1+1")
    text = CSV().export_data(ProductResource().export())
    assert "'=1+1" in text.splitlines()[1]


# --- bundle components ---------------------------------------------------------------------------------------


def test_bundle_components_import_by_skus_and_report_unknown_and_misused_skus():
    kit = BundleFactory(sku="KIT-1")
    ProductFactory(sku="CASE-1")
    ProductFactory(sku="FILM-1")
    plain = ProductFactory(sku="PLAIN-1")

    good = BundleComponentResource().import_or_raise(
        csv_dataset("bundle,component,quantity\nkit-1,case-1,1\nKIT-1,FILM-1,2\n")
    )
    assert good.totals["new"] == 2
    assert list(kit.components.order_by("id").values_list("component__sku", "quantity")) == [
        ("CASE-1", 1),
        ("FILM-1", 2),
    ]

    resource = BundleComponentResource()
    result = resource.import_data(
        csv_dataset(
            "bundle,component,quantity\n"
            "KIT-1,FILM-1,3\n"  # row 2: good update
            "KIT-1,NOPE-9,1\n"  # row 3: unknown SKU
            "PLAIN-1,CASE-1,1\n"  # row 4: not a bundle
            "KIT-1,KIT-1,1\n"  # row 5: itself
            "KIT-1,CASE-1,0\n"  # row 6: quantity below 1
        )
    )
    assert error_triples(resource, result) == [
        (3, "component", "invalid"),
        (4, "bundle", "not_a_bundle"),
        (5, "component", "component_is_self"),
        (6, "quantity", "min_value"),
    ]
    assert resource.errors(result)[0].message == "No product with SKU NOPE-9."
    assert list(kit.components.order_by("id").values_list("component__sku", "quantity")) == [
        ("CASE-1", 1),
        ("FILM-1", 2),
    ]
    assert not BundleComponent.objects.filter(bundle=plain).exists()


def test_bundle_component_skus_are_resolved_with_one_query_per_column():
    kit = BundleFactory(sku="KIT-9")
    lines = "\n".join(f"KIT-9,PART-{number}," + str(number) for number in range(1, 26))
    for number in range(1, 26):
        ProductFactory(sku=f"PART-{number}")

    with CaptureQueriesContext(connection) as captured:
        BundleComponentResource().import_or_raise(csv_dataset("bundle,component,quantity\n" + lines + "\n"))

    sku_lookups = [
        query["sql"] for query in captured.captured_queries if '"inventory_product"."sku" IN' in query["sql"]
    ]
    assert len(sku_lookups) == 2  # bundle column, component column
    assert kit.components.count() == 25


# --- bins ------------------------------------------------------------------------------------------------


def test_bins_import_by_warehouse_code_with_kind_defaults_and_labels():
    warehouse = WarehouseFactory(code="SZ1")
    text = (
        "warehouse,code,kind,is_sellable,pick_sequence\n"
        "sz1,a-01-01-01,pick,,1\n"
        "SZ1,Q-01-01-01,Quarantine,,2\n"
        "SZ1,B-01-01-01,Bulk / overstock,no,3\n"
    )
    result = BinResource().import_or_raise(csv_dataset(text))

    assert result.totals["new"] == 3
    assert list(
        Bin.objects.filter(warehouse=warehouse)
        .order_by("pick_sequence")
        .values_list("code", "zone", "kind", "is_sellable", "pick_sequence")
    ) == [
        ("A-01-01-01", "A", "pick", True, 1),
        ("Q-01-01-01", "Q", "quarantine", False, 2),
        ("B-01-01-01", "B", "bulk", False, 3),
    ]


def test_bins_with_unknown_warehouse_or_bad_code_save_nothing():
    WarehouseFactory(code="SZ1")
    resource = BinResource()
    result = resource.import_data(
        csv_dataset(
            "warehouse,code,kind\n"
            "SZ1,A-01-01-01,pick\n"  # row 2: good
            "LA9,A-01-01-01,pick\n"  # row 3: unknown warehouse
            "SZ1,A-1-1-1,pick\n"  # row 4: does not follow the warehouse's scheme
            "SZ1,A-01-01-02,shelf\n"  # row 5: unknown kind
            "SZ1,a-01-01-01,bulk\n"  # row 6: same bin as row 2
        )
    )

    assert error_triples(resource, result) == [
        (3, "warehouse", "invalid"),
        (4, "code", "invalid"),
        (5, "kind", "invalid"),
        (6, "code", "duplicate"),
    ]
    assert resource.errors(result)[0].message == "No warehouse with code LA9."
    assert Bin.objects.count() == 0


def test_blank_is_sellable_keeps_an_existing_bins_flag():
    warehouse = WarehouseFactory(code="SZ1")
    Bin.objects.create(warehouse=warehouse, code="A-01-01-01", zone="A", kind="pick", is_sellable=False)

    BinResource().import_or_raise(
        csv_dataset("warehouse,code,kind,is_sellable,pick_sequence\nSZ1,A-01-01-01,pick,,7\n")
    )

    assert list(Bin.objects.values_list("code", "is_sellable", "pick_sequence")) == [("A-01-01-01", False, 7)]


def test_bin_warehouses_are_resolved_with_one_query_and_existing_bins_with_one():
    warehouse = WarehouseFactory(code="SZ1")
    Bin.objects.create(warehouse=warehouse, code="A-01-01-01", zone="A")
    rows = "\n".join(f"SZ1,A-01-01-{number:02d},pick" for number in range(1, 31))

    with CaptureQueriesContext(connection) as captured:
        result = BinResource().import_or_raise(csv_dataset("warehouse,code,kind\n" + rows + "\n"))

    assert (result.totals["new"], result.totals["update"]) == (29, 1)
    by_code = [query["sql"] for query in captured.captured_queries if '"inventory_warehouse"."code" IN' in query["sql"]]
    assert len(by_code) == 1
    existing_lookups = [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].startswith('SELECT "inventory_bin"') and '"inventory_bin"."code" IN' in query["sql"]
    ]
    assert len(existing_lookups) == 1


def test_xlsx_round_trip_of_bins():
    warehouse = WarehouseFactory(code="SZ1")
    Bin.objects.create(warehouse=warehouse, code="A-01-01-01", zone="A", kind="pick", is_sellable=True, pick_sequence=4)
    Bin.objects.create(
        warehouse=warehouse, code="Q-01-01-01", zone="Q", kind="quarantine", is_sellable=False, pick_sequence=9
    )
    before = list(Bin.objects.order_by("code").values_list("warehouse__code", "code", "zone", "kind", "is_sellable"))
    exported = XLSX().export_data(BinResource().export())

    Bin.objects.all().delete()
    BinResource().import_or_raise(XLSX().create_dataset(exported))

    assert (
        list(Bin.objects.order_by("code").values_list("warehouse__code", "code", "zone", "kind", "is_sellable"))
        == before
    )

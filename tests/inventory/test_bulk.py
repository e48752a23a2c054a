"""Bulk product upsert: validation of every row, all or nothing, partial updates, sheet reading, command, benchmark."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import Max

from core.errors import ValidationFailed
from inventory.bulk import ProductBulkResult, product_bulk_upsert, product_rows_from_sheet
from inventory.models import BundleComponent, Product
from tests.inventory.factories import ProductFactory, ean13

pytestmark = pytest.mark.django_db

PROJECT_ROOT = Path(__file__).resolve().parents[2]

FULL_ROW = {
    "sku": " ab-100 ",
    "name": "Silicone phone case, black",
    "barcode": "4006381333931",
    "weight_g": "35",
    "length_mm": "160",
    "width_mm": "80",
    "height_mm": "12",
    "declared_name_en": "Phone case",
    "declared_name_zh": "手机壳",
    "hs_code": "392690",
    "declared_value": "3.50",
    "declared_currency": "eur",
    "origin_country": "vn",
    "contains_battery": "Yes",
    "contains_liquid": "n",
    "cost_price": "8.1234",
    "cost_currency": "CNY",
    "is_bundle": "FALSE",
    "is_active": "1",
}


def stored(sku: str) -> dict:
    return Product.objects.filter(sku=sku).values().get()


def failure(rows, **kwargs) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        product_bulk_upsert(rows=rows, **kwargs)
    return caught.value


def error_tuples(error: ValidationFailed) -> list[tuple]:
    return [(detail.row, detail.field, detail.code) for detail in error.errors]


# --- Create and update --------------------------------------------------------------------------------------


def test_creates_products_with_every_value_converted():
    result = product_bulk_upsert(rows=[FULL_ROW, {"sku": "ab-101", "name": "Cable"}])

    assert result == ProductBulkResult(created=2, updated=0, total=2)
    product = stored("AB-100")
    assert {key: product[key] for key in FULL_ROW} == {
        "sku": "AB-100",
        "name": "Silicone phone case, black",
        "barcode": "4006381333931",
        "weight_g": 35,
        "length_mm": 160,
        "width_mm": 80,
        "height_mm": 12,
        "declared_name_en": "Phone case",
        "declared_name_zh": "手机壳",
        "hs_code": "392690",
        "declared_value": Decimal("3.50"),
        "declared_currency": "EUR",
        "origin_country": "VN",
        "contains_battery": True,
        "contains_liquid": False,
        "cost_price": Decimal("8.1234"),
        "cost_currency": "CNY",
        "is_bundle": False,
        "is_active": True,
    }
    assert product["sku_sort"] == "AB-000000000100"
    assert product["created_at"] == product["updated_at"]


def test_columns_not_given_take_the_model_defaults_on_create():
    product_bulk_upsert(rows=[{"sku": "AB-1", "name": "Cable"}])

    product = stored("AB-1")
    assert (
        product["barcode"],
        product["weight_g"],
        product["declared_value"],
        product["declared_currency"],
        product["origin_country"],
        product["cost_currency"],
        product["contains_battery"],
        product["is_active"],
    ) == ("", None, None, "USD", "CN", "CNY", False, True)


def test_partial_update_changes_only_the_given_columns():
    original = ProductFactory(sku="AB-1", name="Old name", weight_g=250, declared_name_zh="手机壳", barcode=ean13(1))

    result = product_bulk_upsert(rows=[{"sku": "ab-1", "weight_g": "300", "declared_value": "7"}])

    assert result == ProductBulkResult(created=0, updated=1, total=1)
    product = stored("AB-1")
    assert (product["weight_g"], product["declared_value"]) == (300, Decimal("7.00"))
    assert (product["name"], product["declared_name_zh"], product["barcode"], product["hs_code"]) == (
        "Old name",
        "手机壳",
        ean13(1),
        "392690",
    )
    assert product["updated_at"] > original.updated_at
    assert product["created_at"] == original.created_at


def test_counts_created_updated_and_unchanged_exactly():
    ProductFactory(sku="SAME-1", name="Same", weight_g=10)
    ProductFactory(sku="CHANGE-1", name="Before", weight_g=10)

    result = product_bulk_upsert(
        rows=[
            {"sku": "NEW-1", "name": "New"},
            {"sku": "SAME-1", "name": "Same", "weight_g": 10},
            {"sku": "CHANGE-1", "name": "After", "weight_g": 10},
            {"sku": "NEW-2", "name": "New too", "barcode": ""},
        ]
    )

    assert (result.created, result.updated, result.unchanged, result.total) == (2, 1, 1, 4)
    assert stored("CHANGE-1")["name"] == "After"


def test_importing_the_same_rows_again_changes_nothing():
    rows = [{**FULL_ROW, "sku": f"AB-{number}", "barcode": ean13(number)} for number in range(50)]
    product_bulk_upsert(rows=rows)
    before = dict(Product.objects.values_list("sku", "updated_at"))

    result = product_bulk_upsert(rows=rows)

    assert result == ProductBulkResult(created=0, updated=0, total=50)
    assert dict(Product.objects.values_list("sku", "updated_at")) == before


def test_trailing_zeros_and_equal_numbers_are_not_a_change():
    product_bulk_upsert(rows=[{"sku": "AB-1", "name": "A", "declared_value": "1.5", "weight_g": "007"}])

    result = product_bulk_upsert(rows=[{"sku": "AB-1", "declared_value": "1.500", "weight_g": 7}])

    assert result == ProductBulkResult(created=0, updated=0, total=1)
    assert (stored("AB-1")["declared_value"], stored("AB-1")["weight_g"]) == (Decimal("1.50"), 7)


def test_json_values_are_accepted_and_null_clears_a_nullable_column():
    ProductFactory(sku="AB-1", weight_g=250, declared_value=Decimal("5.00"), barcode=ean13(7))

    product_bulk_upsert(
        rows=[
            {"sku": "AB-1", "weight_g": None, "declared_value": 12.25, "contains_battery": True, "barcode": None},
            {"sku": "AB-2", "name": "Kit", "is_bundle": 1, "hs_code": 851762, "cost_price": 3},
        ]
    )

    first, second = stored("AB-1"), stored("AB-2")
    assert (first["weight_g"], first["declared_value"], first["contains_battery"], first["barcode"]) == (
        None,
        Decimal("12.25"),
        True,
        "",
    )
    assert (second["is_bundle"], second["hs_code"], second["cost_price"]) == (True, "851762", Decimal("3.0000"))


def test_a_name_is_only_required_for_a_new_sku():
    ProductFactory(sku="AB-1", name="Kept")

    result = product_bulk_upsert(rows=[{"sku": "AB-1", "weight_g": "9"}])

    assert result.updated == 1
    assert stored("AB-1")["name"] == "Kept"
    error = failure([{"sku": "AB-2", "weight_g": "9"}])
    assert error_tuples(error) == [(1, "name", "required")]
    assert error.errors[0].message == "Name is required for new SKU AB-2."


def test_a_barcode_may_move_to_another_product_in_the_same_import():
    ProductFactory(sku="OLD-1", barcode=ean13(1))

    result = product_bulk_upsert(
        rows=[{"sku": "NEW-1", "name": "New", "barcode": ean13(1)}, {"sku": "OLD-1", "barcode": ean13(2)}]
    )

    assert result == ProductBulkResult(created=1, updated=1, total=2)
    assert (stored("NEW-1")["barcode"], stored("OLD-1")["barcode"]) == (ean13(1), ean13(2))


def test_barcodes_may_be_swapped_or_handed_over_in_one_import():
    ProductFactory(sku="SWAP-1", barcode=ean13(1))
    ProductFactory(sku="SWAP-2", barcode=ean13(2))
    ProductFactory(sku="GIVER-1", barcode=ean13(3))
    ProductFactory(sku="BYSTANDER-1", barcode=ean13(4))
    before = Product.objects.aggregate(latest=Max("updated_at"))["latest"]

    result = product_bulk_upsert(
        rows=[
            {"sku": "SWAP-1", "barcode": ean13(2)},
            {"sku": "SWAP-2", "barcode": ean13(1)},
            {"sku": "TAKER-1", "name": "Taker", "barcode": ean13(3)},
            {"sku": "GIVER-1", "barcode": ""},  # only gives its barcode away; still an update
            {"sku": "BYSTANDER-1", "barcode": ean13(4)},
        ]
    )

    assert result == ProductBulkResult(created=1, updated=3, total=5)
    assert dict(Product.objects.values_list("sku", "barcode")) == {
        "SWAP-1": ean13(2),
        "SWAP-2": ean13(1),
        "TAKER-1": ean13(3),
        "GIVER-1": "",
        "BYSTANDER-1": ean13(4),
    }
    changed = set(Product.objects.filter(updated_at__gt=before).values_list("sku", flat=True))
    assert changed == {"SWAP-1", "SWAP-2", "TAKER-1", "GIVER-1"}


def test_works_twice_inside_one_outer_transaction():
    with transaction.atomic():
        first = product_bulk_upsert(rows=[{"sku": "AB-1", "name": "A"}])
        second = product_bulk_upsert(rows=[{"sku": "AB-1", "name": "B"}])
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            jit = cursor.fetchone()[0]

    assert (first.created, second.updated) == (1, 1)
    assert stored("AB-1")["name"] == "B"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit')")
        assert cursor.fetchone()[0] == jit  # the setting the bulk path turned off is back


def test_empty_input_does_nothing():
    assert product_bulk_upsert(rows=[]) == ProductBulkResult(created=0, updated=0, total=0)


# --- Every kind of bad value --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "code", "message"),
    [
        ("sku", "AB 1", "sku_format", "SKU AB 1 may only hold letters, digits and - _ . / (found ' ')."),
        ("sku", "A" * 65, "max_length", "SKU has 65 characters; at most 64 are allowed."),
        ("sku", "   ", "required", "SKU is required."),
        ("name", "x" * 256, "max_length", "Name has 256 characters; at most 255 are allowed."),
        ("name", "", "required", "Name is required."),
        (
            "name",
            "bad\x00name",
            "forbidden_character",
            "Name: Contains U+0000 (NUL) at position 4; control characters are not allowed in text.",
        ),
        ("name", ["a"], "invalid_type", "Name must be text, not ['a']."),
        (
            "barcode",
            "4006381333932",
            "barcode_check_digit",
            "Barcode 4006381333932 has check digit 2; EAN-13 check digit should be 1.",
        ),
        (
            "barcode",
            "40063813339",
            "barcode_format",
            "Barcode 40063813339 must be 8, 12, 13 or 14 digits (EAN-8, UPC-A, EAN-13, GTIN-14).",
        ),
        ("barcode", 4.006381333931e12, "invalid_type", "Barcode must be text, not 4006381333931.0."),
        ("hs_code", "8517.62", "hs_code", "HS code 8517.62 must be 6 to 10 digits, without dots or spaces."),
        ("hs_code", "12345", "hs_code", "HS code 12345 must be 6 to 10 digits, without dots or spaces."),
        (
            "declared_name_zh",
            "长" * 129,
            "max_length",
            "Declared name (Chinese) has 129 characters; at most 128 are allowed.",
        ),
        ("origin_country", "XX", "country", "XX is not an ISO 3166-1 alpha-2 country code (for example CN, US, DE)."),
        ("origin_country", "", "required", "Origin country is required."),
        ("declared_currency", "US$", "currency", "US$ is not an ISO 4217 currency code (for example USD, CNY, EUR)."),
        ("cost_currency", "RMB", "currency", "RMB is not an ISO 4217 currency code (for example USD, CNY, EUR)."),
        ("weight_g", "-1", "min_value", "Weight (g) must be a whole number, 0 or more; got '-1'."),
        ("weight_g", "1.5", "invalid", "Weight (g) must be a whole number, 0 or more; got '1.5'."),
        ("length_mm", "ten", "invalid", "Length (mm) must be a whole number, 0 or more; got 'ten'."),
        ("width_mm", "2147483648", "max_value", "Width (mm) must be at most 2147483647; got '2147483648'."),
        ("height_mm", True, "invalid_type", "Height (mm) must be a whole number, 0 or more; got True."),
        (
            "declared_value",
            "1.234",
            "max_decimal_places",
            "Declared value may have at most 2 decimal places; got '1.234'.",
        ),
        ("declared_value", "-0.01", "min_value", "Declared value must be 0 or more; got '-0.01'."),
        (
            "declared_value",
            "12345678901",
            "max_whole_digits",
            "Declared value must be a number, 0 or more, with at most 10 digits before the point; got '12345678901'.",
        ),
        (
            "cost_price",
            "abc",
            "invalid",
            "Cost price must be a number, 0 or more, with at most 8 digits before the point and 4 after it; got 'abc'.",
        ),
        ("cost_price", "NaN", "invalid", None),
        ("cost_price", "1.00001", "max_decimal_places", "Cost price may have at most 4 decimal places; got '1.00001'."),
        (
            "contains_battery",
            "maybe",
            "invalid",
            "Contains battery must be true or false (or yes/no, y/n, 1/0); got 'maybe'.",
        ),
        ("is_active", 2, "invalid", "Is active must be true or false (or yes/no, y/n, 1/0); got 2."),
        ("colour", "red", "unknown_field", None),
    ],
)
def test_every_bad_value_is_named_by_row_and_field_and_nothing_is_saved(field, value, code, message):
    rows = [{"sku": "GOOD-1", "name": "Fine"}, {"sku": "GOOD-2", "name": "Also fine", field: value}]

    error = failure(rows)

    assert error.message == "1 of 2 rows are invalid; nothing was saved."
    assert error.code == "validation_failed"
    assert error_tuples(error) == [(2, field, code)]
    if message is not None:
        assert error.errors[0].message == message
    assert Product.objects.count() == 0


def test_every_problem_of_every_row_is_listed_with_the_given_row_numbers():
    rows = [
        {"_row": 2, "sku": "OK-1", "name": "Fine"},
        {"_row": 3, "sku": "BAD 1", "name": "x", "weight_g": "-3"},
        {"_row": 5, "name": "no sku"},
        {"_row": 6, "sku": "OK-2", "name": "Fine", "is_bundle": "perhaps"},
    ]

    error = failure(rows)

    assert error.message == "3 of 4 rows are invalid; nothing was saved."
    assert error_tuples(error) == [
        (3, "sku", "sku_format"),
        (3, "weight_g", "min_value"),
        (5, "sku", "required"),
        (6, "is_bundle", "invalid"),
    ]


def test_a_row_that_is_not_an_object_is_an_error():
    error = failure([{"sku": "OK-1", "name": "Fine"}, ["OK-2", "Fine"]])

    assert error_tuples(error) == [(2, None, "invalid")]
    assert error.errors[0].message == "A row must be an object of field names and values, not ['OK-2', 'Fine']."


def test_a_bad_row_at_the_end_of_a_long_input_saves_nothing():
    existing = ProductFactory(sku="ROW-00001", name="Before", weight_g=1)
    rows = (
        {"sku": f"ROW-{number:05d}", "name": f"Row {number}", "weight_g": str(number)} for number in range(1, 12001)
    )
    bad_last = (
        {**row, "barcode": "123"} if row["sku"] == "ROW-12000" else row
        for row in rows  # the last of three 5,000-row chunks; the first two are already staged by then
    )

    error = failure(bad_last)

    assert error.message == "1 of 12000 rows are invalid; nothing was saved."
    assert error_tuples(error) == [(12000, "barcode", "barcode_format")]
    assert Product.objects.count() == 1
    existing.refresh_from_db()
    assert (existing.name, existing.weight_g) == ("Before", 1)


def test_duplicate_sku_within_the_input_names_both_rows():
    error = failure(
        [{"sku": "AB-1", "name": "A"}, {"sku": "AB-2", "name": "B"}, {"sku": " ab-1", "name": "C"}],
    )

    assert error_tuples(error) == [(3, "sku", "duplicate")]
    assert error.errors[0].message == "SKU AB-1 is also on row 1; a SKU may appear only once."
    assert Product.objects.count() == 0


def test_duplicate_barcode_within_the_input_names_both_rows():
    error = failure(
        [{"sku": "AB-1", "name": "A", "barcode": ean13(5)}, {"sku": "AB-2", "name": "B", "barcode": ean13(5)}]
    )

    assert error_tuples(error) == [(2, "barcode", "duplicate")]
    assert error.errors[0].message == (
        f"Barcode {ean13(5)} is also on row 1; a barcode may belong to one product only."
    )


def test_barcode_used_by_another_product_in_the_database_is_an_error():
    ProductFactory(sku="HOLDER-1", barcode=ean13(9))
    ProductFactory(sku="OWNER-1", barcode=ean13(10))

    error = failure(
        [
            {"sku": "OWNER-1", "barcode": ean13(10)},  # its own barcode: fine
            {"sku": "NEW-1", "name": "New", "barcode": ean13(9)},
        ]
    )

    assert error_tuples(error) == [(2, "barcode", "unique")]
    assert error.errors[0].message == f"Barcode {ean13(9)} is already used by SKU HOLDER-1."
    assert not Product.objects.filter(sku="NEW-1").exists()


def test_bundle_roles_follow_the_same_rules_as_the_product_service():
    bundle = ProductFactory(sku="KIT-1", is_bundle=True)
    component = ProductFactory(sku="PART-1")
    BundleComponent.objects.create(bundle=bundle, component=component, quantity=2)

    error = failure([{"sku": "KIT-1", "is_bundle": "false"}, {"sku": "PART-1", "is_bundle": "true"}])

    assert error_tuples(error) == [(1, "is_bundle", "bundle_has_components"), (2, "is_bundle", "component_is_bundle")]
    bundle.refresh_from_db()
    assert bundle.is_bundle is True


def test_errors_are_capped_but_every_invalid_row_is_counted():
    rows = [{"sku": f"AB-{number}", "name": "x", "weight_g": "bad"} for number in range(30)]

    error = failure(rows, max_errors=10)

    assert error.message == "30 of 30 rows are invalid; nothing was saved."
    assert len(error.errors) == 10
    assert error.context == {"errors_omitted": 20}


# --- Reading sheets (the reader itself is tested in tests/core/test_sheets.py) ------------------------------------


def sheet_rows(text: str, encoding: str = "utf-8"):
    return product_rows_from_sheet(source=text.encode(encoding))


def test_csv_rows_with_human_headers_bom_blank_cells_and_row_numbers():
    text = (
        "\ufeffSKU,Name,Declared name (Chinese),WEIGHT (G),hs_code\n"
        "ab-1,'=SUM(A1),手机壳,12,\n"
        "\n"
        ",,,,\n"
        'ab-2,"two\nlines",, 7 ,851762\n'
        "ab-3,'-dash,,,\n"
    )

    rows = list(sheet_rows(text))

    # Spreadsheet rows: the record with a line break in a cell is one row (row 5), so the next one is row 6.
    assert rows == [
        {"sku": "ab-1", "name": "=SUM(A1)", "declared_name_zh": "手机壳", "weight_g": "12", "_row": 2},
        {"sku": "ab-2", "name": "two\nlines", "weight_g": "7", "hs_code": "851762", "_row": 5},
        {"sku": "ab-3", "name": "-dash", "_row": 6},
    ]


def test_csv_import_keeps_values_of_empty_cells_and_unescapes_formulas():
    ProductFactory(sku="AB-1", name="Old", weight_g=250, hs_code="392690")
    text = "sku,name,weight_g,hs_code\nAB-1,'+Plus cable,,\nAB-2,'@home,5,851762\n"

    result = product_bulk_upsert(rows=sheet_rows(text))

    assert result == ProductBulkResult(created=1, updated=1, total=2)
    assert (stored("AB-1")["name"], stored("AB-1")["weight_g"], stored("AB-1")["hs_code"]) == (
        "+Plus cable",
        250,
        "392690",
    )
    assert stored("AB-2")["name"] == "@home"


def test_csv_errors_carry_the_spreadsheet_row_numbers():
    text = "SKU,Name,Weight (g)\nAB-1,Fine,1\nAB-2,Fine,heavy\n\nAB-1,Again,2\n"

    error = failure(sheet_rows(text))

    assert error_tuples(error) == [(3, "weight_g", "invalid"), (5, "sku", "duplicate")]
    assert error.errors[1].message == "SKU AB-1 is also on row 2; a SKU may appear only once."


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("sku,name,colour\n", [(1, "colour", "unknown_column")]),
        ("sku,SKU,name\n", [(1, "SKU", "duplicate_column")]),
        ("name,weight_g\n", [(1, "sku", "missing_column")]),
    ],
)
def test_a_bad_header_is_refused_before_any_row(header, expected):
    with pytest.raises(ValidationFailed) as caught:
        sheet_rows(header + "AB-1,x,y\n")

    assert caught.value.message.startswith("The header (row 1) is not valid: ")
    assert error_tuples(caught.value) == expected


def test_cells_beyond_the_header_are_an_error():
    error = failure(sheet_rows("sku,name\nAB-1,A,surprise\nAB-2,B,,\n"))

    assert error_tuples(error) == [(2, None, "cell_outside_header")]
    assert error.errors[0].message == "The cell in column C has a value, but the header has only 2 columns."
    assert Product.objects.count() == 0


def test_xlsx_rows_give_numbers_typed_into_text_columns_as_typed(tmp_path):
    workbook = openpyxl.Workbook()
    for values in [["SKU", "Name", "Barcode", "HS code", "Weight (g)"], ["ab-1", 12, 4006381333931, 392690.0, 35]]:
        workbook.active.append(values)
    path = tmp_path / "products.xlsx"
    workbook.save(path)

    assert list(product_rows_from_sheet(source=path)) == [
        {"sku": "ab-1", "name": "12", "barcode": "4006381333931", "hs_code": "392690", "weight_g": 35, "_row": 2}
    ]


# --- The management command ---------------------------------------------------------------------------------


def test_command_prints_the_counts(tmp_path):
    ProductFactory(sku="AB-1", name="Old")
    path = tmp_path / "products.csv"
    path.write_text("SKU,Name\nAB-1,New\nAB-2,Other\nAB-3,Third\n", encoding="utf-8")
    out = io.StringIO()

    call_command("products_import", str(path), stdout=out)

    assert out.getvalue().startswith("Created 2, updated 1, unchanged 0, total 3 rows in ")
    assert stored("AB-1")["name"] == "New"


def test_command_prints_every_error_and_fails(tmp_path):
    path = tmp_path / "products.csv"
    path.write_text("SKU,Name,Barcode\nAB-1,Fine,\nAB 2,Bad,123\n", encoding="utf-8")
    err = io.StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("products_import", str(path), stderr=err)

    assert caught.value.returncode == 1
    assert str(caught.value) == "1 of 2 rows are invalid; nothing was saved."
    assert err.getvalue().splitlines() == [
        "row 3, column sku: SKU AB 2 may only hold letters, digits and - _ . / (found ' ').",
        "row 3, column barcode: Barcode 123 must be 8, 12, 13 or 14 digits (EAN-8, UPC-A, EAN-13, GTIN-14).",
    ]
    assert Product.objects.count() == 0


def test_command_reads_other_encodings(tmp_path):
    path = tmp_path / "products.csv"
    path.write_bytes("SKU,Name,Declared name (Chinese)\nAB-1,Case,手机壳\n".encode("gb18030"))
    err = io.StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("products_import", str(path), "--encoding", "utf-8", stderr=err)
    assert str(caught.value).startswith("The file is not utf-8 text")
    assert err.getvalue().startswith("row 2, column C: The file is not utf-8 text")

    call_command("products_import", str(path), "--encoding", "gb18030", stdout=io.StringIO())
    assert stored("AB-1")["declared_name_zh"] == "手机壳"


def test_command_detects_gb18030_and_reads_xlsx(tmp_path):
    gb18030 = tmp_path / "products.csv"
    gb18030.write_bytes("SKU,Name,Declared name (Chinese)\r\nAB-1,Case,手机壳\r\n".encode("gb18030"))
    workbook = openpyxl.Workbook()
    for values in [["SKU", "Name", "HS code"], ["AB-2", "Cable", 854442]]:
        workbook.active.append(values)
    xlsx = tmp_path / "products.xlsx"
    workbook.save(xlsx)

    call_command("products_import", str(gb18030), stdout=io.StringIO())
    call_command("products_import", str(xlsx), stdout=io.StringIO())

    assert stored("AB-1")["declared_name_zh"] == "手机壳"
    assert stored("AB-2")["hs_code"] == "854442"


def test_command_prints_bad_cells_by_row_and_column_and_saves_nothing(tmp_path):
    path = tmp_path / "products.csv"
    path.write_bytes(("SKU,Name\nAB-1,Fine\nAB-2,Bad\x00\nAB-3," + "x" * 200_000 + "\n").encode("gb18030"))
    err = io.StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("products_import", str(path), stderr=err)

    assert caught.value.returncode == 1
    assert str(caught.value) == "The file has 2 cells that cannot be imported; nothing was saved."
    assert err.getvalue().splitlines() == [
        "row 3, column name: Contains U+0000 (NUL) at position 4; control characters are not allowed in text.",
        "row 4, column name: The cell has more than 32,767 characters (Excel's limit for a cell).",
    ]
    assert Product.objects.count() == 0


def database_url() -> str:
    """The URL of the database this test runs on, for a subprocess."""
    settings = connection.settings_dict
    host = settings["HOST"] or settings["OPTIONS"].get("host", "")
    if host.startswith("/"):
        return f"postgresql://{settings['USER']}@/{settings['NAME']}?host={host}"
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgresql://{settings['USER']}@{host}{port}/{settings['NAME']}"


def subprocess_env() -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url(), "SEABRIDGE_TESTING": "1"}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_command_exit_codes(tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text("sku,name\nAB-1,Fine\n", encoding="utf-8")
    bad.write_text("sku,name\nAB-2,\n", encoding="utf-8")

    def run(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "products_import", str(path)],
            cwd=PROJECT_ROOT,
            env=subprocess_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    succeeded, failed = run(good), run(bad)

    assert succeeded.returncode == 0, succeeded.stderr
    assert "Created 1, updated 0, unchanged 0, total 1 rows" in succeeded.stdout
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [
        "row 2, column name: Name is required for new SKU AB-2.",
        "CommandError: 1 of 1 rows are invalid; nothing was saved.",
    ]
    assert list(Product.objects.values_list("sku", flat=True)) == ["AB-1"]

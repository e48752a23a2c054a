"""Bulk stock: CSV/XLSX import through a stock count (all rows or nothing), and exports that import back."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from inventory.models import Bin, StockCount, StockLevel, StockMove
from inventory.stock_import import stock_rows_from_upload
from inventory.stock_services import stock_receive
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def site():
    warehouse = WarehouseFactory(code="SZ")
    return {
        "warehouse": warehouse,
        "pick": BinFactory(warehouse=warehouse, code="A-01-01-01", kind=Bin.Kind.PICK),
        "bulk": BinFactory(warehouse=warehouse, code="B-01-01-01", kind=Bin.Kind.BULK),
        "receiving": BinFactory(warehouse=warehouse, code="R-01-01-01", kind=Bin.Kind.RECEIVING, is_sellable=False),
        "case": ProductFactory(sku="CASE-1", name="Phone case"),
        "cable": ProductFactory(sku="CABLE-2", name="USB cable"),
    }


@pytest.fixture
def manager(api_client_for):
    return api_client_for("Warehouse manager")


def csv_file(text: str, name: str = "stock.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def xlsx_file(rows: list[list], name: str = "stock.xlsx") -> SimpleUploadedFile:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    content = io.BytesIO()
    workbook.save(content)
    return SimpleUploadedFile(name, content.getvalue(), content_type=XLSX)


def upload(client, file, warehouse: str = "SZ"):
    return client.post("/api/v1/stock/import/", {"file": file, "warehouse": warehouse}, format="multipart")


def levels() -> dict[tuple[str, str], int]:
    return {
        (row.bin.code, row.product.sku): row.on_hand
        for row in StockLevel.objects.select_related("bin", "product").exclude(on_hand=0)
    }


# --- Parsing ------------------------------------------------------------------------------------------------


def test_csv_rows_carry_their_spreadsheet_row_numbers_and_accept_header_aliases():
    text = "\ufeffSKU;Bin;Qty;Note\r\ncase-1 ;A-01-01-01;3;x\r\n;;;\r\n'-PEN;B-01-01-01;2\r\n"
    rows = list(stock_rows_from_upload(io.BytesIO(text.encode("utf-8"))))
    assert rows == [
        {"_row": 2, "sku": "case-1", "bin": "A-01-01-01", "quantity": "3"},
        {"_row": 4, "sku": "-PEN", "bin": "B-01-01-01", "quantity": "2"},
    ]


def test_xlsx_rows_keep_numbers_and_row_numbers():
    file = xlsx_file(
        [[None], ["Quantity", "bin", "sku"], [5, "A-01-01-01", "CASE-1"], [None, None, None], [2.0, "B", "X"]]
    )
    assert list(stock_rows_from_upload(file)) == [
        {"_row": 3, "sku": "CASE-1", "bin": "A-01-01-01", "quantity": 5},
        {"_row": 5, "sku": "X", "bin": "B", "quantity": 2},
    ]


# --- Import -------------------------------------------------------------------------------------------------


def test_csv_import_sets_bins_through_a_count_with_a_ledger_row_per_change(manager, site):
    stock_receive(product=site["case"], bin=site["pick"], quantity=5)
    file = csv_file(
        "\ufeffsku,bin,quantity,comment\nCASE-1,A-01-01-01,3,\ncable-2,b-01-01-01,4,new\nCASE-1,R-01-01-01,0,\n"
    )
    response = upload(manager, file)
    assert response.status_code == 201, response.json()
    count = StockCount.objects.get()
    assert response.json() == {
        "count": count.pk,
        "number": count.number,
        "rows": 3,
        "moves_posted": 2,
        "units_in": 4,
        "units_out": 2,
    }
    assert count.status == "approved"
    assert levels() == {("A-01-01-01", "CASE-1"): 3, ("B-01-01-01", "CABLE-2"): 4}
    moves = StockMove.objects.filter(reason="count").order_by("id")
    assert [(move.product.sku, move.from_bin_id, move.to_bin_id, move.quantity) for move in moves] == [
        ("CASE-1", site["pick"].pk, None, 2),
        ("CABLE-2", None, site["bulk"].pk, 4),
    ]
    assert {move.reference for move in moves} == {count.number}


def test_xlsx_import_of_opening_balances(manager, site):
    file = xlsx_file([["SKU", "Bin", "Qty"], ["CASE-1", "A-01-01-01", 12], ["CABLE-2", "B-01-01-01", 7.0]])
    response = upload(manager, file)
    assert response.status_code == 201, response.json()
    assert (response.json()["moves_posted"], response.json()["units_in"]) == (2, 19)
    assert levels() == {("A-01-01-01", "CASE-1"): 12, ("B-01-01-01", "CABLE-2"): 7}
    # The same sheet again changes nothing: each quantity says what is in the bin.
    file = xlsx_file([["SKU", "Bin", "Qty"], ["CASE-1", "A-01-01-01", 12], ["CABLE-2", "B-01-01-01", 7.0]])
    assert upload(manager, file).json()["moves_posted"] == 0


def test_every_bad_row_is_reported_with_its_row_and_field_and_nothing_is_saved(manager, site):
    file = csv_file(
        "sku,bin,quantity\n"
        "CASE-1,A-01-01-01,3\n"  # row 2: fine
        "NOPE-1,A-01-01-01,1\n"  # row 3: unknown SKU
        "\n"  # row 4: blank, skipped but counted
        "CASE-1,Z-09-09-09,1\n"  # row 5: unknown bin
        "CABLE-2,B-01-01-01,-4\n"  # row 6: negative
        "CABLE-2,A-01-01-01,2.5\n"  # row 7: not a whole number
    )
    response = upload(manager, file)
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "4 of 5 rows are wrong; nothing was imported."
    assert body["errors"] == [
        {"message": "Unknown SKU NOPE-1.", "code": "unknown_sku", "field": "sku", "row": 3},
        {"message": "Unknown bin Z-09-09-09 in warehouse SZ.", "code": "unknown_bin", "field": "bin", "row": 5},
        {"message": "Quantity cannot be negative (got -4).", "code": "min_value", "field": "quantity", "row": 6},
        {
            "message": "Quantity must be a whole number (got '2.5').",
            "code": "invalid",
            "field": "quantity",
            "row": 7,
        },
    ]
    assert (StockCount.objects.count(), StockMove.objects.count(), StockLevel.objects.count()) == (0, 0, 0)


def test_a_file_that_is_neither_format_or_lacks_a_column_is_refused(manager, site):
    response = upload(manager, SimpleUploadedFile("stock.csv", b"\xff\xfe\x00garbage\x81"))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "message": "The file is neither an XLSX workbook nor CSV text (UTF-8, UTF-16 with a BOM, or GB18030); "
            "save it as CSV UTF-8 or XLSX. The first cell that cannot be read is in row 1, column A.",
            "code": "unreadable_file",
            "field": "A",
            "row": 1,
        }
    ]
    response = upload(manager, csv_file("sku,location,count\nCASE-1,A-01-01-01,1\n"))
    assert response.json()["message"] == (
        "The header (row 1) is not valid: The header has no bin column (or 'bin code', 'bin_code'); "
        "it has 'sku', 'location', 'count'. (and 1 more)"
    )
    assert [(error["row"], error["field"], error["code"]) for error in response.json()["errors"]] == [
        (1, "bin", "missing_column"),
        (1, "quantity", "missing_column"),
    ]
    response = upload(manager, SimpleUploadedFile("stock.xlsx", b"PK\x03\x04 not really a zip"))
    assert response.json()["code"] == "unreadable_file"
    response = upload(manager, csv_file("sku,bin,quantity\nCASE-1,A-01-01-01,1\n"), warehouse="NOWHERE")
    assert response.json()["errors"] == [
        {"message": "No warehouse has code NOWHERE.", "code": "no_code", "field": "warehouse"}
    ]
    assert StockCount.objects.count() == 0


def test_gb18030_sheet_with_chinese_headers_elsewhere_is_imported(manager, site):
    content = "SKU\t库位备注\tBin code\tQty\r\nCASE-1\t手机壳\tA-01-01-01\t3\r\n".encode("gb18030")
    response = upload(manager, SimpleUploadedFile("stock.csv", content, content_type="text/csv"))

    assert response.status_code == 201, response.json()
    assert levels() == {("A-01-01-01", "CASE-1"): 3}


def test_a_cell_too_long_for_the_csv_module_is_a_400_naming_row_and_column(manager, site):
    # Over 131,072 characters the csv module raises, which used to be a 500.
    file = csv_file("sku,bin,quantity,note\nCASE-1,A-01-01-01,1,\nCASE-1,B-01-01-01,2," + "x" * 200_000 + "\n")

    response = upload(manager, file)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "message": "The cell has more than 32,767 characters (Excel's limit for a cell).",
            "code": "cell_too_long",
            "field": "note",
            "row": 3,
        }
    ]
    assert StockCount.objects.count() == 0


def test_a_nul_in_a_cell_is_a_400_naming_row_and_column(manager, site):
    response = upload(manager, csv_file("sku,bin,quantity\nCASE-1,A-01-01-01,1\nCASE\x00-1,B-01-01-01,2\n"))

    assert response.status_code == 400
    assert [(error["row"], error["field"], error["code"]) for error in response.json()["errors"]] == [
        (3, "sku", "forbidden_character")
    ]
    assert StockCount.objects.count() == 0


def test_import_needs_the_rights_to_count_and_move_stock(api_client_for, site):
    picker = api_client_for("Picker/packer")
    assert upload(picker, csv_file("sku,bin,quantity\nCASE-1,A-01-01-01,1\n")).status_code == 403


# --- Export -------------------------------------------------------------------------------------------------


def _csv_rows(response) -> list[list[str]]:
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    return list(csv.reader(io.StringIO(content[1:])))


def test_stock_level_export_escapes_formulas_and_imports_back_unchanged(manager, site):
    risky = ProductFactory(sku="-PEN", name='=HYPERLINK("http://x")')
    stock_receive(product=risky, bin=site["pick"], quantity=2)
    stock_receive(product=site["case"], bin=site["receiving"], quantity=5)
    response = manager.get("/api/v1/stock-levels/export/?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert _csv_rows(response) == [
        ["warehouse", "bin", "zone", "bin_kind", "sellable", "sku", "product_name", "quantity"],
        ["SZ", "A-01-01-01", "A", "pick", "yes", "'-PEN", '\'=HYPERLINK("http://x")', "2"],
        ["SZ", "R-01-01-01", "R", "receiving", "no", "CASE-1", "Phone case", "5"],
    ]

    response = manager.get("/api/v1/stock-levels/export/?format=xlsx&product=-PEN")
    assert response["Content-Type"] == XLSX
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["warehouse", "bin", "zone", "bin_kind", "sellable", "sku", "product_name", "quantity"],
        ["SZ", "A-01-01-01", "A", "pick", "yes", "'-PEN", '\'=HYPERLINK("http://x")', 2],
    ]

    exported = SimpleUploadedFile("levels.xlsx", response.content, content_type=XLSX)
    result = upload(manager, exported)
    assert result.status_code == 201, result.json()
    assert (result.json()["rows"], result.json()["moves_posted"]) == (1, 0)


def test_ledger_export_streams_csv_and_builds_xlsx(manager, site):
    stock_receive(product=site["case"], bin=site["pick"], quantity=5, reference="=cmd|' /C calc'!A0")
    stock_receive(product=site["cable"], bin=site["bulk"], quantity=1, reference="PO-2")
    response = manager.get("/api/v1/stock-moves/export/?product=CASE-1")
    rows = _csv_rows(response)
    move = StockMove.objects.get(product=site["case"])
    assert rows[0] == [
        "id",
        "created_at",
        "warehouse",
        "sku",
        "from_bin",
        "to_bin",
        "quantity",
        "reason",
        "reference",
        "note",
        "user",
    ]
    assert rows[1][:2] == [str(move.pk), rows[1][1]]
    assert rows[1][2:] == ["SZ", "CASE-1", "", "A-01-01-01", "5", "receipt", "'=cmd|' /C calc'!A0", "", ""]
    assert len(rows) == 2

    response = manager.get("/api/v1/stock-moves/export/?format=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["CABLE-2", "CASE-1"]

    response = manager.get("/api/v1/stock-moves/export/?format=pdf")
    assert response.status_code == 400
    assert response.json()["message"] == "Unknown export format 'pdf'; use csv or xlsx."


def test_exports_need_read_rights(api_client_for, anonymous_api, site):
    assert anonymous_api.get("/api/v1/stock-moves/export/").status_code == 401
    picker = api_client_for("Picker/packer")
    assert picker.get("/api/v1/stock-moves/export/").status_code == 403
    assert picker.get("/api/v1/stock-levels/export/").status_code == 200

"""Every import refuses what is not a spreadsheet, naming the file field, before a row is read or saved."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from openpyxl import Workbook

from core.errors import ValidationFailed
from core.sheets import sheet_open
from inventory.models import Product, StockCount, StockMove
from tests.inventory.factories import WarehouseFactory

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200 + b"This program cannot be run"


def _xlsx(rows) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("s")
    for row in rows:
        sheet.append(row)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def _bomb(member_size: int) -> bytes:
    """A valid-looking workbook whose sheet unpacks to ``member_size`` bytes of blank space (a few KiB packed)."""
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with zipfile.ZipFile(io.BytesIO(_xlsx([["sku", "bin", "quantity"]]))) as real:
            for member in real.infolist():
                if member.filename != "xl/worksheets/sheet1.xml":
                    archive.writestr(member, real.read(member))
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            block = b" " * (1 << 20)
            for _ in range(member_size // len(block)):
                sheet.write(block)
    return stream.getvalue()


def _refusal(source) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        sheet = sheet_open(source=source, layout=None)
        list(sheet.records())
    return caught.value


@pytest.mark.parametrize(
    ("name", "content", "code", "words"),
    [
        ("stock.csv", EXE, "unsupported_file_type", "a Windows program, not a spreadsheet"),
        ("stock.csv", b"\x7fELF\x02\x01\x01" + b"\x00" * 50, "unsupported_file_type", "a program, not a spreadsheet"),
        ("stock.csv", b"<!DOCTYPE html><html><body>x</body></html>", "unsupported_file_type", "a web page"),
        ("stock.csv", b"sku,bin,quantity\n" + bytes(range(256)) * 4, "unsupported_file_type", "binary data"),
        ("stock.csv", b"%PDF-1.7\n", "unsupported_file_type", "a PDF document"),
        ("stock.exe", b"sku,bin,quantity\nA,B,1\n", "unsupported_file_type", "stock.exe is not a spreadsheet"),
        ("stock.html", b"sku,bin,quantity\nA,B,1\n", "unsupported_file_type", "only .csv and .xlsx"),
    ],
)
def test_what_is_not_a_spreadsheet_is_refused(name, content, code, words):
    error = _refusal(SimpleUploadedFile(name, content))
    assert error.code == code
    assert words in error.message
    assert [(detail.field, detail.code) for detail in error.errors] == [("file", code)]


def test_a_zip_that_is_not_a_workbook_is_refused():
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("readme.txt", "hello")
    error = _refusal(SimpleUploadedFile("stock.xlsx", stream.getvalue()))
    assert error.code == "unsupported_file_type"
    assert error.message == "The file is a zip archive, not an XLSX workbook; save the sheet as XLSX or CSV UTF-8."
    assert error.errors[0].field == "file"


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    content = _bomb(64 << 20)  # 64 MiB of blank space in a few hundred KiB
    assert len(content) < 1 << 20
    error = _refusal(SimpleUploadedFile("stock.xlsx", content))
    assert error.code == "suspicious_file"
    assert error.message.startswith("The XLSX workbook is packed far tighter than a spreadsheet can be")
    assert error.errors[0].field == "file"
    with override_settings(SHEET_XLSX_MAX_UNPACKED=32 << 20):
        error = _refusal(SimpleUploadedFile("stock.xlsx", content))
    assert error.code == "file_too_large"
    assert error.message == (
        "The XLSX workbook unpacks to 64.0 MiB, more than the 32.0 MiB this server reads; split it, or save it as "
        "CSV UTF-8."
    )


@override_settings(SHEET_XLSX_MAX_UNPACKED=1 << 20)
def test_a_workbook_larger_unpacked_than_the_limit_is_refused():
    rows = [["sku", "name"], *([f"SKU-{number}", f"name {number} " * 5] for number in range(12_000))]
    content = _xlsx(rows)
    error = _refusal(content)  # bytes, as the admin's import hands them over: judged by content alone
    assert error.code == "file_too_large"
    assert "more than the 1.0 MiB this server reads; split it" in error.message


def test_real_spreadsheets_still_read():
    for name, content in (
        ("stock.csv", b"sku,bin,quantity\nA-1,B-1,3\n"),
        ("stock.txt", "sku\tbin\tquantity\r\nA-1\tB-1\t3\r\n".encode("utf-16")),
        ("STOCK.XLSX", _xlsx([["sku", "bin", "quantity"], ["A-1", "B-1", 3]])),
    ):
        sheet = sheet_open(source=SimpleUploadedFile(name, content), layout=None)
        assert list(sheet.records()) == [(2, ["A-1", "B-1", "3" if name != "STOCK.XLSX" else 3])], name


def test_the_api_import_refuses_a_program_and_saves_nothing(api_client_for):
    client = api_client_for(superuser=True)
    warehouse = WarehouseFactory()
    response = client.post(
        "/api/v1/stock/import/",
        {"file": SimpleUploadedFile("stock.csv", EXE), "warehouse": warehouse.code},
        format="multipart",
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "unsupported_file_type", body
    assert body["errors"] == [
        {
            "field": "file",
            "message": "The file is a Windows program, not a spreadsheet; save the sheet as CSV UTF-8 or XLSX.",
            "code": "unsupported_file_type",
        }
    ]
    assert (StockCount.objects.count(), StockMove.objects.count()) == (0, 0)


def test_the_admin_import_refuses_a_zip_bomb_under_its_file_field(admin_client):
    response = admin_client.post(
        reverse("admin:inventory_product_import"),
        {"resource": "0", "format": "1", "import_file": SimpleUploadedFile("products.xlsx", _bomb(64 << 20))},
    )
    assert response.status_code == 200
    assert "confirm_form" not in response.context
    [message] = response.context["form"].errors["import_file"]
    assert message.startswith("The XLSX workbook is packed far tighter than a spreadsheet can be")
    assert Product.objects.count() == 0


def test_the_admin_import_refuses_a_program_renamed_csv(admin_client):
    response = admin_client.post(
        reverse("admin:inventory_product_import"),
        {"resource": "0", "format": "0", "import_file": SimpleUploadedFile("products.csv", EXE)},
    )
    assert response.context["form"].errors["import_file"] == [
        "The file is a Windows program, not a spreadsheet; save the sheet as CSV UTF-8 or XLSX."
    ]
    assert Product.objects.count() == 0

"""Reading stock sheets (sku, bin, quantity) from an uploaded CSV or XLSX file, with spreadsheet row numbers."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from core.errors import ErrorDetail, ValidationFailed
from core.spreadsheet import unescape_formula

# Header names people use for each column, compared trimmed and case-insensitively.
COLUMN_ALIASES: dict[str, frozenset[str]] = {
    "sku": frozenset({"sku"}),
    "bin": frozenset({"bin", "bin code", "bin_code"}),
    "quantity": frozenset({"quantity", "qty"}),
}
MAX_ROWS = 100_000
XLSX_SIGNATURE = b"PK\x03\x04"
XLS_SIGNATURE = b"\xd0\xcf\x11\xe0"  # the old binary Excel format (OLE2)


def _refuse(message: str, code: str, *, row: int | None = None) -> ValidationFailed:
    return ValidationFailed(message, code=code, errors=[ErrorDetail(message, code=code, field="file", row=row)])


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return unescape_formula(value.strip())
    return value


def _is_blank(values: tuple[Any, ...] | list[Any]) -> bool:
    return all(value is None or (isinstance(value, str) and not value.strip()) for value in values)


def _columns(header: tuple[Any, ...] | list[Any], row_number: int) -> dict[str, int]:
    """Column index of sku, bin and quantity in the header row; other columns are ignored."""
    found: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = str(raw).strip().lower() if raw is not None else ""
        for column, aliases in COLUMN_ALIASES.items():
            if name in aliases:
                if column in found:
                    raise _refuse(
                        f"The header row (row {row_number}) has two {column} columns: "
                        f"{found[column] + 1} and {index + 1}.",
                        "duplicate_column",
                        row=row_number,
                    )
                found[column] = index
    missing = [column for column in COLUMN_ALIASES if column not in found]
    if missing:
        seen = ", ".join(str(value).strip() for value in header if value not in (None, "")) or "nothing"
        raise _refuse(
            f"The header row (row {row_number}) has no {' or '.join(missing)} column; it needs sku, bin and "
            f"quantity (or qty), and has: {seen}.",
            "missing_columns",
            row=row_number,
        )
    return found


def _rows(records: Iterator[tuple[int, list[Any]]]) -> tuple[dict[str, int], Iterator[dict[str, Any]]]:
    """Find the header (the first non-blank row), then yield each non-blank row under it as a dict."""
    for row_number, values in records:
        if not _is_blank(values):
            columns = _columns(values, row_number)
            break
    else:
        raise _refuse("The file is empty: there is no header row with sku, bin and quantity.", "empty_file")

    def generate() -> Iterator[dict[str, Any]]:
        data_rows = 0
        for row_number, values in records:
            if _is_blank(values):
                continue
            data_rows += 1
            if data_rows > MAX_ROWS:
                raise _refuse(f"The file has more than {MAX_ROWS} rows; split it into smaller files.", "too_many_rows")
            row = {"_row": row_number}
            for column, index in columns.items():
                row[column] = _clean(values[index]) if index < len(values) else None
            yield row

    return columns, generate()


def _csv_records(content: bytes) -> Iterator[tuple[int, list[Any]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _refuse(
            f"The file is neither an XLSX workbook nor UTF-8 text (byte {error.start} cannot be read); "
            "save it as CSV UTF-8 or XLSX.",
            "unreadable_file",
        ) from error
    first_line = text.split("\n", 1)[0]
    try:
        dialect: Any = csv.Sniffer().sniff(first_line, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    # Spreadsheet row numbers: the header is row 1 and each record is one row, even with line breaks in a cell.
    return ((row_number, values) for row_number, values in enumerate(csv.reader(io.StringIO(text), dialect), 1))


def _xlsx_records(uploaded_file: IO[bytes]) -> tuple[Any, Iterator[tuple[int, list[Any]]]]:
    try:
        workbook = load_workbook(uploaded_file, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as error:
        raise _refuse(
            f"The XLSX workbook cannot be read ({error}); save it again as XLSX or CSV.", "unreadable_file"
        ) from error
    sheet = workbook.worksheets[0]
    # Some programs write a wrong size into the sheet; without it every row is read.
    sheet.reset_dimensions()
    records = ((row_number, list(values)) for row_number, values in enumerate(sheet.iter_rows(values_only=True), 1))
    return workbook, records


def stock_rows_from_upload(uploaded_file: IO[bytes]) -> Iterator[dict[str, Any]]:
    """Rows of an uploaded CSV (UTF-8, with or without BOM) or XLSX (first sheet) as sku/bin/quantity dicts.

    The header row names the columns (``SKU``, ``Bin``, ``Qty`` or ``Quantity``, in any case and order;
    other columns are ignored). Each row dict carries ``_row``, its row number in the spreadsheet (the
    header is row 1), so errors point at the line a person sees. Text cells are trimmed and a formula
    escape from our exports is undone; quantities are passed on as found, for the count service to judge.
    Blank rows are skipped. The header is read before this returns, so a file that is neither format or
    lacks a column raises ValidationFailed (field ``file``) here.
    """
    uploaded_file.seek(0)
    start = uploaded_file.read(8)
    uploaded_file.seek(0)
    if start.startswith(XLS_SIGNATURE):
        raise _refuse("Old Excel files (.xls) are not read; save the sheet as XLSX or CSV UTF-8.", "unsupported_format")
    if start.startswith(XLSX_SIGNATURE):
        workbook, records = _xlsx_records(uploaded_file)
        try:
            _, rows = _rows(records)
        except ValidationFailed:
            workbook.close()
            raise

        def rows_then_close() -> Iterator[dict[str, Any]]:
            try:
                yield from rows
            finally:
                workbook.close()

        return rows_then_close()
    _, rows = _rows(_csv_records(uploaded_file.read()))
    return rows

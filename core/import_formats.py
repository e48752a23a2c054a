"""django-import-export formats that read the admin's uploads through core.sheets; exports keep tablib's own."""

from __future__ import annotations

from typing import Any

import tablib
from import_export.formats import base_formats

from core.sheets import Sheet, sheet_open


class SheetDataset(tablib.Dataset):
    """A tablib Dataset read by core.sheets: headers as written, and the spreadsheet row number of each row."""

    def __init__(self, *args: Any, header_row: int = 1, row_numbers: list[int] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_row = header_row
        self.row_numbers = row_numbers if row_numbers is not None else [header_row + 1 + i for i in range(len(self))]


def dataset_from_sheet(sheet: Sheet) -> SheetDataset:
    """Every non-blank row of ``sheet`` under its header; raises ValidationFailed listing every bad cell."""
    numbers: list[int] = []
    rows: list[list[Any]] = []
    for row_number, cells in sheet.records():
        numbers.append(row_number)
        rows.append(cells)
    return SheetDataset(*rows, headers=sheet.header, header_row=sheet.header_row, row_numbers=numbers)


def _read(content: bytes | str) -> SheetDataset:
    if isinstance(content, str):  # a caller that read the file as text already
        content = content.encode("utf-8")
    return dataset_from_sheet(sheet_open(source=content, layout=None))


class CSV(base_formats.CSV):
    """CSV in any encoding core.sheets reads (the admin's ``from_encoding`` is not used: the reader detects it)."""

    def is_binary(self) -> bool:
        return True  # so the admin hands over bytes, undecoded

    def get_read_mode(self) -> str:
        return "rb"

    def create_dataset(self, in_stream: bytes | str, **kwargs: Any) -> SheetDataset:
        return _read(in_stream)


class XLSX(base_formats.XLSX):
    """XLSX, first sheet; the same reader, so a file given the wrong format button is still read right."""

    def create_dataset(self, in_stream: bytes) -> SheetDataset:
        return _read(in_stream)

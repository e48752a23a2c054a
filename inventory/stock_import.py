"""Reading stock sheets (sku, bin, quantity) from an uploaded CSV or XLSX file, through core.sheets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from core.sheets import SheetColumn, SheetLayout, SheetSource, sheet_open
from inventory.models import Product, StockCountLine, StockMove

MAX_ROWS = 100_000

STOCK_SHEET = SheetLayout(
    columns=(
        SheetColumn.for_field(Product._meta.get_field("sku"), is_required=True),
        SheetColumn.for_field(
            StockCountLine._meta.get_field("bin"), aliases=("bin code", "bin_code"), is_required=True, is_text=True
        ),
        # Passed on as found (text, or an XLSX number), for the count service to judge.
        SheetColumn.for_field(StockMove._meta.get_field("quantity"), aliases=("qty",), is_required=True),
    ),
    # A stock sheet is often an export of something else, with columns that do not matter here.
    ignores_unknown_columns=True,
    max_rows=MAX_ROWS,
)


def stock_rows_from_upload(uploaded_file: SheetSource) -> Iterator[dict[str, Any]]:
    """Rows of an uploaded CSV or XLSX (first sheet) stock sheet as sku/bin/quantity dicts.

    The header row names the columns (``SKU``, ``Bin`` or ``Bin code``, ``Qty`` or ``Quantity``, in any case and
    order; other columns are ignored). Each row dict carries ``_row``, its row number in the spreadsheet (the
    header is row 1), so errors point at the row a person sees; an empty cell is left out of the dict. The header
    is read before this returns, so a file that cannot be read or lacks a column raises ValidationFailed here;
    bad cells (see core.sheets) raise it once every row has been read.
    """
    return iter(sheet_open(source=uploaded_file, layout=STOCK_SHEET))

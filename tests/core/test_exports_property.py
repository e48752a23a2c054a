"""Property: no exported text cell starts a formula, and importing an export gives the original text back."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from core.api.exports import _csv_lines
from core.sheets import sheet_open
from core.spreadsheet import FORMULA_PREFIXES, escape_formula, unescape_formula
from core.text import FORBIDDEN_CHARACTERS

DANGEROUS = (*FORMULA_PREFIXES, "'", " ", "\n")

# Any text the importer keeps as it is: trimmed (the reader trims cells), without the characters core.text forbids
# in any cell; most of them start with formula characters or apostrophes, the cases that matter.
plain_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
starts = st.lists(st.sampled_from(DANGEROUS), max_size=4).map("".join)
texts = (
    st.tuples(starts, plain_text)
    .map("".join)
    .map(str.strip)
    .filter(lambda text: text != "" and FORBIDDEN_CHARACTERS.search(text) is None)
)
QUICK = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@QUICK
@given(st.text(max_size=30) | st.tuples(starts, plain_text).map("".join))
def test_escaped_text_never_starts_a_formula(text):
    escaped = escape_formula(text)
    assert not escaped.startswith(FORMULA_PREFIXES)
    assert unescape_formula(escaped) == text


def _imported(content: bytes) -> list[str]:
    return [cells[0] for _row, cells in sheet_open(source=content, layout=None).records()]


@QUICK
@given(st.lists(texts, min_size=1, max_size=10))
def test_csv_export_imports_back_unchanged(values):
    content = "".join(_csv_lines(["value"], [[value] for value in values])).encode("utf-8")
    cells = [row[0] for row in csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))][1:]
    assert len(cells) == len(values)
    assert not any(cell.startswith(FORMULA_PREFIXES) for cell in cells)
    assert _imported(content) == values


@settings(max_examples=60, deadline=None)
@given(st.lists(texts.filter(lambda text: "\r" not in text), min_size=1, max_size=10))
def test_xlsx_export_imports_back_unchanged(values):
    # The same cells core/api/exports.py writes to its workbooks. (No carriage return inside a cell: XML reads
    # it as a line feed, whoever escapes what.)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("export")
    sheet.append(["value"])
    for value in values:
        cell = escape_formula(value)
        assert not cell.startswith(FORMULA_PREFIXES)
        sheet.append([cell])
    stream = io.BytesIO()
    workbook.save(stream)
    assert _imported(stream.getvalue()) == values

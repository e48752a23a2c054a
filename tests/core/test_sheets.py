"""core.sheets, the reader of every import: encodings, delimiters, line ends, XLSX, header aliases, cells, rows."""

from __future__ import annotations

import io
import random
import sys

import openpyxl
import pytest

from core.errors import ValidationFailed
from core.sheets import (
    SheetColumn,
    SheetLayout,
    sheet_header_names,
    sheet_open,
    sheet_open_table,
    utf8_may_hold_forbidden,
)
from core.text import FORBIDDEN_CHARACTERS
from inventory.models import Product

LAYOUT = SheetLayout(
    columns=(
        SheetColumn("sku", aliases=("SKU",), is_required=True),
        SheetColumn("name"),
        SheetColumn("declared_name_zh", aliases=("Declared name (Chinese)", "声明名称")),
        SheetColumn("quantity", aliases=("qty",), is_text=False),
    )
)
LENIENT = SheetLayout(columns=LAYOUT.columns, ignores_unknown_columns=True)
CHINESE = "SKU,声明名称,qty\nCASE-1,手机壳,3\nCASE-2,数据线,4\n"
CHINESE_ROWS = [
    {"sku": "CASE-1", "declared_name_zh": "手机壳", "quantity": "3", "_row": 2},
    {"sku": "CASE-2", "declared_name_zh": "数据线", "quantity": "4", "_row": 3},
]


def rows(source, layout: SheetLayout = LAYOUT, **kwargs) -> list[dict]:
    return list(sheet_open(source=source, layout=layout, **kwargs))


def refusal(source, layout: SheetLayout = LAYOUT, **kwargs) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        rows(source, layout, **kwargs)
    return caught.value


def where(error: ValidationFailed) -> list[tuple]:
    return [(detail.row, detail.field, detail.code) for detail in error.errors]


def xlsx(rows_of_cells: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    for cells in rows_of_cells:
        workbook.active.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- Encodings -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(CHINESE.encode("utf-8"), id="utf-8"),
        pytest.param(CHINESE.encode("utf-8-sig"), id="utf-8 with BOM"),
        pytest.param(CHINESE.encode("gb18030"), id="gb18030"),
        pytest.param(CHINESE.replace(",", "\t").replace("\n", "\r\n").encode("utf-16"), id="utf-16 (Unicode text)"),
        pytest.param(CHINESE.replace(",", "\t").encode("utf-16-be").join([b"\xfe\xff", b""]), id="utf-16 BE"),
    ],
)
def test_every_encoding_excel_writes_is_read(content):
    assert rows(content) == CHINESE_ROWS


def test_gb18030_is_found_after_a_long_ascii_start():
    # The first block of the file is all ASCII, so it reads the same in UTF-8 and GB18030; the first block that is
    # not ASCII decides.
    ascii_rows = "".join(f"AB-{number},plain,1\n" for number in range(100_000))
    content = ("sku,name,qty\n" + ascii_rows + "CASE-1,手机壳,3\n").encode("gb18030")
    assert len(content) > 1 << 20

    read = rows(content)

    assert len(read) == 100_001
    assert read[-1] == {"sku": "CASE-1", "name": "手机壳", "quantity": "3", "_row": 100_002}


def test_a_file_that_switches_encoding_names_the_first_cell_it_cannot_read():
    # Decided for UTF-8 by its first block, which is not ASCII; GB18030 bytes further on cannot be UTF-8.
    utf8_start = "sku,name,qty\nCASE-0,声明,1\n" + "".join(f"AB-{number},plain,1\n" for number in range(100_000))
    content = utf8_start.encode("utf-8") + "CASE-1,手机壳,3\n".encode("gb18030")
    assert len(content) > 1 << 20

    error = refusal(content)

    assert where(error) == [(100_003, "name", "unreadable_file")]
    assert error.errors[0].message.startswith("The cell is not UTF-8 text, though the rows above it were")


def test_an_explicit_encoding_is_used_and_a_wrong_one_names_the_first_bad_cell():
    content = CHINESE.encode("gb18030")
    assert rows(content, encoding="gb18030") == CHINESE_ROWS

    error = refusal(content, encoding="utf-8")
    assert where(error) == [(1, "B", "unreadable_file")]  # 声明名称, in the header
    assert error.message.startswith("The file is not utf-8 text")

    assert where(refusal(content, encoding="klingon")) == [(None, "encoding", "unknown_encoding")]


def test_bytes_that_are_no_text_at_all_are_refused():
    error = refusal(b"\xff\xfe\x00garbage\x81")
    assert error.code == "unreadable_file"
    assert error.message.startswith("The file is neither an XLSX workbook nor CSV text")


# --- Delimiters, line ends, row numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(CHINESE, id="comma, LF"),
        pytest.param(CHINESE.replace("\n", "\r\n"), id="CRLF"),
        pytest.param(CHINESE.replace("\n", "\r"), id="CR (old Mac)"),
        pytest.param(CHINESE.replace(",", ";").replace("\n", "\r\n"), id="semicolon"),
        pytest.param(CHINESE.replace(",", "\t"), id="tab"),
    ],
)
def test_delimiters_and_line_ends(text):
    assert rows(text.encode()) == CHINESE_ROWS


def test_a_quoted_cell_with_line_breaks_is_one_row_and_blank_rows_are_counted():
    text = (
        "\n"  # row 1: blank; the header is row 2
        "sku,name,qty\r\n"
        'CASE-1,"two\r\nlines, and ""quotes""",1\r\n'  # row 3, over two lines of the file
        "\r\n"  # row 4: blank
        ",  , \r\n"  # row 5: blank cells only
        'CASE-2,"three\rold mac\rlines",2\r\n'  # row 6
        "CASE-3,after,3\r\n"  # row 7
    )

    sheet = sheet_open(source=text.encode(), layout=LAYOUT)

    assert sheet.header_row == 2
    assert list(sheet) == [
        {"sku": "CASE-1", "name": 'two\r\nlines, and "quotes"', "quantity": "1", "_row": 3},
        {"sku": "CASE-2", "name": "three\rold mac\rlines", "quantity": "2", "_row": 6},
        {"sku": "CASE-3", "name": "after", "quantity": "3", "_row": 7},
    ]


def test_cells_are_trimmed_empty_ones_left_out_and_the_formula_escape_undone():
    text = "sku,name,qty\n case-1 ,'=SUM(A1),\nCASE-2,\u3000'-dash\u00a0,'7\nCASE-3,'',\n"

    assert rows(text.encode()) == [
        {"sku": "case-1", "name": "=SUM(A1)", "_row": 2},
        {"sku": "CASE-2", "name": "-dash", "quantity": "'7", "_row": 3},
        {"sku": "CASE-3", "name": "''", "_row": 4},
    ]


def test_sources_bytes_paths_and_open_files(tmp_path):
    path = tmp_path / "stock.csv"
    path.write_bytes(CHINESE.encode("gb18030"))

    assert rows(path) == CHINESE_ROWS
    with path.open("rb") as upload:
        upload.read(3)  # someone read it before: the reader starts from the beginning anyway
        assert rows(upload) == CHINESE_ROWS
    assert rows(bytearray(CHINESE.encode())) == CHINESE_ROWS


def test_too_many_rows_is_refused_at_the_first_row_over_the_limit():
    layout = SheetLayout(columns=LAYOUT.columns, max_rows=2)
    text = "sku\nA\n\nB\nC\n"

    assert where(refusal(text.encode(), layout)) == [(5, None, "too_many_rows")]
    assert len(rows(b"sku\nA\n\nB\n", layout)) == 2


# --- XLSX --------------------------------------------------------------------------------------------------------


def test_xlsx_first_sheet_with_numbers_typed_into_text_columns():
    content = xlsx(
        [
            [None],  # row 1 blank; the header is row 2
            ["qty", "Declared name (Chinese)", "SKU", "name"],
            [5, "手机壳", 12345, 12.0],
            [None, None, None, None],  # blank, counted
            [2.5, " '=HYPERLINK() ", "CASE-2", 0.25],
        ]
    )

    assert rows(content) == [
        {"quantity": 5, "declared_name_zh": "手机壳", "sku": "12345", "name": "12", "_row": 3},
        {"quantity": 2.5, "declared_name_zh": "=HYPERLINK()", "sku": "CASE-2", "name": "0.25", "_row": 5},
    ]


def test_xlsx_cells_are_checked_like_csv_cells():
    # openpyxl neither writes control characters nor cells over Excel's limit, so a value outside the header
    # stands for the cell checks here.
    content = xlsx([["sku", "name"], ["CASE-1", "ok", "stray"], ["CASE-2", "fine"]])

    assert where(refusal(content)) == [(2, None, "cell_outside_header")]


def test_old_xls_and_broken_xlsx_are_refused():
    old_excel = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    error = refusal(old_excel)
    assert (error.code, error.message) == (
        "unsupported_format",
        "Old Excel files (.xls) are not read; save the sheet as XLSX (Excel Workbook) or CSV UTF-8.",
    )
    assert refusal(b"PK\x03\x04 not really a zip").code == "unreadable_file"


# --- The header ----------------------------------------------------------------------------------------------------


def test_header_aliases_are_matched_trimmed_case_insensitively_with_blank_space_collapsed():
    text = "  sku ,NAME, declared   NAME (chinese) ,QTY\nCASE-1,Case,手机壳,1\n"
    assert rows(text.encode()) == [
        {"sku": "CASE-1", "name": "Case", "declared_name_zh": "手机壳", "quantity": "1", "_row": 2}
    ]


def test_a_model_fields_name_and_verbose_name_are_its_aliases():
    column = SheetColumn.for_field(Product._meta.get_field("declared_name_zh"), aliases=("声明名称",))
    weight = SheetColumn.for_field(Product._meta.get_field("weight_g"))

    assert column == SheetColumn(
        name="declared_name_zh",
        aliases=("declared_name_zh", "declared name (Chinese)", "声明名称"),
        is_required=False,
        is_text=True,
    )
    assert (weight.aliases, weight.is_text) == (("weight_g", "weight (g)"), False)


def test_a_layout_where_one_header_would_mean_two_columns_is_a_programming_error():
    with pytest.raises(ValueError, match="would mean both"):
        SheetLayout(columns=(SheetColumn("quantity", aliases=("qty",)), SheetColumn("qty")))


def test_unknown_duplicate_and_missing_columns_are_all_listed_before_any_row():
    error = refusal(b"name,Name,colour\nthis row is never read\n")

    assert error.code == "invalid_header"
    assert where(error) == [
        (1, "Name", "duplicate_column"),
        (1, "colour", "unknown_column"),
        (1, "sku", "missing_column"),
    ]
    assert error.errors[2].message == "The header has no sku column; it has 'name', 'Name', 'colour'."
    assert error.message.startswith("The header (row 1) is not valid: Columns 'name' and 'Name' are both name")


def test_unknown_columns_are_ignored_where_the_layout_says_so():
    text = "Note,sku,qty,,Extra\nfirst,CASE-1,3,,x\nonly a note,,,,\n"

    assert rows(text.encode(), LENIENT) == [
        {"sku": "CASE-1", "quantity": "3", "_row": 2},
        {"_row": 3},  # not blank: the importer says what is missing
    ]


def test_header_names_for_a_resolved_header():
    names = sheet_header_names(header=["SKU", "", "Qty", "Remark"], layout=LENIENT, row=4)
    assert names == ["sku", None, "quantity", None]


def test_an_empty_file_is_refused():
    assert where(refusal(b"")) == [(None, "file", "empty_file")]
    assert where(refusal(b"\r\n , ,\r\n")) == [(None, "file", "empty_file")]


# --- Cells -----------------------------------------------------------------------------------------------------


def test_a_cell_of_200000_characters_is_an_error_naming_row_and_column():
    # Over the csv module's own limit (131,072), which used to end in a 500 on the API.
    text = "sku,name,qty\nCASE-1,fine,1\nCASE-2," + "x" * 200_000 + ",2\nCASE-3,after,3\n"

    error = refusal(text.encode())

    assert where(error) == [(3, "name", "cell_too_long")]
    assert error.errors[0].message == "The cell has more than 32,767 characters (Excel's limit for a cell)."


def test_a_quoted_cell_over_the_limit_after_a_multiline_row_is_found_too():
    long_cell = '"' + 'say ""hi""\n' * 15_000 + '"'
    text = f'sku,name,qty\nCASE-1,"a\nb",1\nCASE-2,{long_cell},2\n'

    assert where(refusal(text.encode())) == [(3, "name", "cell_too_long")]


def test_a_cell_over_excels_limit_but_under_the_csv_modules_is_an_error_too():
    text = "sku,name,qty\nCASE-1," + "x" * 40_000 + ",1\nCASE-2,fine,2\n"

    error = refusal(text.encode())

    assert where(error) == [(2, "name", "cell_too_long")]
    assert error.errors[0].message == "The cell has 40,000 characters; a cell may hold at most 32,767 (Excel's limit)."


def test_forbidden_characters_are_errors_naming_row_and_column_and_every_one_is_listed():
    text = (
        "sku,name,qty\n"
        "CASE-1,fine,1\n"  # row 2
        "CASE-2,nul\x00here,2\n"  # row 3
        "CASE-\x1b3,bell,\x07\n"  # row 4: two bad cells
        "CASE-4,fine,4\n"  # row 5
    )

    error = refusal(text.encode())

    assert error.message == "The file has 3 cells that cannot be imported; nothing was saved."
    assert where(error) == [
        (3, "name", "forbidden_character"),
        (4, "sku", "forbidden_character"),
        (4, "quantity", "forbidden_character"),
    ]
    assert error.errors[0].message == (
        "Contains U+0000 (NUL) at position 4; control characters are not allowed in text."
    )


def test_rows_with_a_bad_cell_are_held_back_and_the_error_comes_after_the_last_row():
    sheet = sheet_open(source=b"sku,name\nCASE-1,ok\nCASE-2,b\x00d\nCASE-3,ok\n", layout=LAYOUT)
    seen = []

    with pytest.raises(ValidationFailed):
        for row in sheet:
            seen.append(row["_row"])

    assert seen == [2, 4]


def test_a_lone_surrogate_in_utf8_bytes_is_a_forbidden_character_not_a_crash():
    content = b"sku,name\nCASE-1,\xed\xa0\x80\n"

    assert where(refusal(content)) == [(2, "name", "forbidden_character")]


def test_values_outside_the_header_are_errors_unless_unknown_columns_are_ignored():
    text = "sku,,name\nCASE-1,lost,x\nCASE-2,,y,beyond\n"

    error = refusal(text.encode())

    assert [(detail.row, detail.message) for detail in error.errors] == [
        (2, "The cell in column B has a value, but that column has no header."),
        (3, "The cell in column D has a value, but the header has only 3 columns."),
    ]
    assert rows(text.encode(), LENIENT) == [
        {"sku": "CASE-1", "name": "x", "_row": 2},
        {"sku": "CASE-2", "name": "y", "_row": 3},
    ]


def test_records_keep_every_column_by_position_as_the_header_names_it():
    sheet = sheet_open(
        source=xlsx([["SKU", "Qty", "Note"], ["case-1", 3, None], [None], ["'+x", 2.5, "n"]]), layout=None
    )

    assert sheet.header == ["SKU", "Qty", "Note"]
    assert list(sheet.records()) == [(2, ["case-1", 3, None]), (4, ["+x", 2.5, "n"])]


def test_a_table_read_elsewhere_is_checked_and_numbered_the_same_way():
    sheet = sheet_open_table(rows=[["sku", "name"], ["A", " x "], [None, ""], ["B", "b\x00"]], layout=LAYOUT)

    with pytest.raises(ValidationFailed) as caught:
        list(sheet)
    assert where(caught.value) == [(4, "name", "forbidden_character")]


# --- The shortcuts agree with the rules they stand for ------------------------------------------------------------


def test_the_csv_fast_path_reads_rows_as_the_careful_path_does():
    """CSV rows that look plain are built by dict(zip()) (empty cells left out); XLSX rows always cell by cell.
    Rows of every mix of empty, padded, apostrophe and plain cells read the same from both."""
    chooser = random.Random(11)
    cells = ["CASE-1", "", " padded ", "'=1+1", "手机壳", "a b", "x ", " y", "'", "7"]
    table = [["sku", "name", "declared_name_zh", "qty"]]
    for _ in range(400):
        row = [chooser.choice(cells) for _ in range(4)]
        if not any(cell.strip() for cell in row):
            row[0] = "CASE-9"
        table.append(row)
    text = "\n".join(",".join(row) for row in table) + "\n"

    from_csv = rows(text.encode())

    assert from_csv == rows(xlsx(table))
    assert len(from_csv) == 400


def test_no_blank_space_above_u3000_escapes_the_fast_paths_check():
    assert [hex(code) for code in range(0x3001, sys.maxunicode + 1) if chr(code).isspace()] == []


def test_the_utf8_byte_check_flags_exactly_the_characters_core_text_forbids():
    # The reader searches UTF-8 blocks for forbidden characters in bytes, without decoding them. Walk every code
    # point: if core.text's rule changes, this fails, and the shortcut in core.sheets has to follow.
    missed = []
    flagged_wrongly = []
    for code in range(sys.maxunicode + 1):
        character = chr(code)
        data = b"a" + character.encode("utf-8", "surrogatepass") + b"z"
        forbidden = FORBIDDEN_CHARACTERS.match(character) is not None
        flagged = utf8_may_hold_forbidden(data)
        if forbidden and not flagged:
            missed.append(hex(code))
        elif flagged and not forbidden:
            flagged_wrongly.append(hex(code))
    assert (missed, flagged_wrongly) == ([], [])

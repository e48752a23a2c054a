"""The one reader of spreadsheets for every import: CSV (in the encodings Excel writes) or XLSX, spreadsheet rows.

An import declares what it reads once, as a :class:`SheetLayout` of :class:`SheetColumn` (a name and the header
texts that mean it), and opens a file with :func:`sheet_open`; iterating the :class:`Sheet` gives one dict per
row. What every import gets, whatever the file:

* **Formats.** XLSX is recognised by its zip signature (first sheet, values of formulas as last saved); the old
  binary ``.xls`` is refused; anything else is CSV text: UTF-8 with or without BOM, UTF-16 with BOM (Excel's
  "Unicode text"), GB18030 when the bytes are not UTF-8 (what a Chinese Excel saves as "CSV"), or an encoding
  given by the caller. Comma, semicolon or tab, whichever the header line uses most; ``\\r\\n``, ``\\n`` and
  ``\\r`` line ends; line breaks inside quoted cells.
* **Row numbers** are those a person sees in Excel: the header is the first non-blank row (row 1 in most files),
  a record whose quoted cell spans lines is one row, and blank rows are skipped but counted. Each row dict carries
  its number under ``"_row"``.
* **Header.** Cells are matched to columns trimmed, case-insensitively, with inner blank space collapsed. A column
  is named by its name or an alias; an alias that is a translation (a model field's verbose name) names it in
  every language of ``settings.LANGUAGES``, so "英文申报名" and "Declared name (English)" both mean
  ``declared_name_en``, whoever reads the file. A column given twice, a required column missing or (unless the
  layout ignores them) an unknown column refuses the file before any row is read.
* **Cells** are trimmed and the formula escape of our exports is undone; empty cells are left out of the row
  dict. A cell longer than Excel's 32,767 characters or holding a character :mod:`core.text` forbids is an error
  naming its row and column, and so is a value in a column without a header (unless the layout ignores unknown
  columns). XLSX numbers in text columns come back as typed (``12``, not ``12.0``). Such errors are collected
  while the rows stream past, rows with a bad cell are held back, and :class:`ValidationFailed` lists them all
  when the last row has been read, so an all-or-nothing caller saves nothing.

* **What a file must be** is checked first, by :mod:`core.uploads`: an upload's name (.csv, .xlsx), its first bytes
  (no program, archive, image, PDF or web page), an XLSX's unpacked size (no zip bomb), and Excel's own row and
  column limits while the rows stream.

The admin's imports read files the same way through :meth:`Sheet.records` (cells by position, the header as
written) and resolve the header against a resource's columns with :func:`sheet_header_names`.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import os
import re
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from typing import IO, Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.errors import ErrorDetail, ValidationFailed, and_more, words_join
from core.spreadsheet import unescape_formula
from core.text import FORBIDDEN_CHARACTERS, forbidden_character_message
from core.uploads import (
    MAX_COLUMNS,
    MAX_ROWS,
    sheet_size_check,
    upload_content_check,
    upload_name_check,
    xlsx_archive_check,
)

ROW_KEY = "_row"
MAX_CELL_LENGTH = 32_767  # Excel's own limit for one cell
# Enough for a person to fix a file in one go, while a file where every cell is wrong stays small in memory.
MAX_ERRORS = 1_000
XLSX_SIGNATURE = b"PK\x03\x04"
XLS_SIGNATURE = b"\xd0\xcf\x11\xe0"  # the old binary Excel format (OLE2)
DELIMITERS = (",", ";", "\t")
BLOCK_SIZE = 1 << 20
# The fast path joins a row's cells with this separator; one search then finds a cell that starts with blank space
# or the apostrophe of a formula escape, or ends with blank space. NUL: no cell of the fast path holds one (a file
# with a forbidden character takes the careful path), and it is not white space, so an empty cell sends no row
# down the careful path (U+001F, the unit separator, is white space to str.isspace and to \s).
_SEPARATOR = "\x00"
_CARE = re.compile(r"\x00(?:[\s']|(?<=\s\x00))")
# What str.strip() removes (Unicode has no blank space above U+3000, which tests/core/test_sheets.py checks), and
# with the apostrophe, what sends a row whose first cell starts with it down the careful path.
_BLANK = frozenset(character for character in map(chr, range(0x3001)) if character.isspace())
_CARE_FIRST = _BLANK | {"'"}

# What sheet_open reads: the bytes of a file, a binary file object (an upload), or the path of a file.
SheetSource = bytes | bytearray | memoryview | os.PathLike | IO[bytes]


def header_key(text: str) -> str:
    """How header cells and aliases are compared: trimmed, inner blank space collapsed, case folded."""
    return " ".join(text.split()).casefold()


def in_every_language(text: str | Promise) -> tuple[str, ...]:
    """``text`` as each language of ``settings.LANGUAGES`` writes it, when it is a lazy translation (a verbose name,
    a choice label); plain text as it is. Call it when the text is used, not at import: translations are not
    loaded while apps load."""
    if not isinstance(text, Promise):
        return (text,)
    from django.conf import settings  # here, because the settings import this module through core.import_formats
    from django.utils import translation

    texts: list[str] = []
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            rendered = str(text)
        if rendered not in texts:
            texts.append(rendered)
    return tuple(texts)


def choice_by_text(choices, aliases: dict[str, str] | None = None) -> dict[str, str]:
    """Each text a cell may give for a choice (its value, its label in every language, ``aliases``), as
    ``header_key`` compares texts, → the choice's value. Call it when the sheet is read (see in_every_language)."""
    texts = {header_key(text): value for text, value in (aliases or {}).items()}
    for value, label in choices:
        texts[header_key(value)] = value
        for text in in_every_language(label):
            texts[header_key(text)] = value
    return texts


@dataclass(frozen=True)
class SheetColumn:
    """One column an import reads: its name in the row dicts and the header texts that mean it.

    ``aliases`` may be lazy translations (a model field's verbose name): each means the column in every language.
    ``is_text``: XLSX numbers in this column are given as the text typed (``12``), not as numbers.
    """

    name: str
    aliases: tuple[str | Promise, ...] = ()
    is_required: bool = False
    is_text: bool = True

    def header_texts(self) -> tuple[str, ...]:
        """Every header text that means this column: its name, and each alias in every language."""
        texts: list[str] = [self.name]
        for alias in self.aliases:
            texts.extend(text for text in in_every_language(alias) if text not in texts)
        return tuple(texts)

    def labels(self) -> list[str]:
        """The aliases as the reader of a message writes them (the active language), other than the name itself."""
        return sorted({str(alias) for alias in self.aliases if header_key(str(alias)) != header_key(self.name)})

    @classmethod
    def for_field(
        cls,
        model_field: Any,
        *,
        name: str | None = None,
        aliases: Iterable[str | Promise] = (),
        is_required: bool = False,
        is_text: bool | None = None,
    ) -> SheetColumn:
        """The column of a model field: the field's name and verbose name mean it, and so do ``aliases``.

        The verbose name is kept as the field has it (a lazy translation, usually): the layout reads it in every
        language when it is first used.
        """
        from django.db import models  # here, because the settings import this module through core.import_formats

        if is_text is None:
            is_text = isinstance(model_field, models.CharField | models.TextField)
        return cls(
            name=name or model_field.name,
            aliases=(model_field.name, model_field.verbose_name, *aliases),
            is_required=is_required,
            is_text=is_text,
        )


@dataclass(frozen=True)
class SheetLayout:
    """What one import reads: its columns, whether other columns are ignored or refused, and how many rows.

    Layouts are module constants, built while apps load: the header texts that are translations are read (in
    every language) when the layout is first used, in :attr:`column_by_key`.
    """

    columns: tuple[SheetColumn, ...]
    ignores_unknown_columns: bool = False
    max_rows: int | None = None

    def __post_init__(self) -> None:
        for column in self.columns:
            if column.name == ROW_KEY:
                raise ValueError(f"{ROW_KEY!r} is the row number, not a column name.")
        # What can be checked without translations is checked now; translated texts on first use.
        _columns_by_key(self.columns, texts=_untranslated_texts)

    @cached_property
    def column_by_key(self) -> dict[str, SheetColumn]:
        """Each header text that means a column (compared by :func:`header_key`), in every language."""
        return _columns_by_key(self.columns, texts=SheetColumn.header_texts)

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]


def _untranslated_texts(column: SheetColumn) -> list[str]:
    return [column.name, *(alias for alias in column.aliases if not isinstance(alias, Promise))]


def _columns_by_key(
    columns: Iterable[SheetColumn], *, texts: Callable[[SheetColumn], Iterable[str]]
) -> dict[str, SheetColumn]:
    by_key: dict[str, SheetColumn] = {}
    for column in columns:
        for text in texts(column):
            other = by_key.setdefault(header_key(text), column)
            if other.name != column.name:
                raise ValueError(f"Header {text!r} would mean both {other.name} and {column.name}.")
    return by_key


def _refuse(message: str, code: str, *, row: int | None = None, field: str | None = None) -> ValidationFailed:
    return ValidationFailed(message, code=code, errors=[ErrorDetail(message, code=code, field=field, row=row)])


def column_letter(index: int) -> str:
    """Excel's name of the column at 0-based ``index``: A … Z, AA …"""
    letters = ""
    number = index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _as_text(value: Any) -> str:
    """An XLSX value as the text a person typed or sees: 12 (not 12.0), 0.5, TRUE, 2024-05-01."""
    if type(value) is float and value.is_integer():
        return str(int(value))
    if type(value) is bool:
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    return value.isoformat() if isinstance(value, datetime.date | datetime.time) else str(value)


def _is_blank(record: Sequence[Any]) -> bool:
    return all(value is None or (type(value) is str and not value.strip()) for value in record)


# --- The header ----------------------------------------------------------------------------------------------


def _header_texts(record: Sequence[Any]) -> list[str]:
    texts = [" ".join(_as_text(value).split()) if value is not None else "" for value in record]
    if texts:
        texts[0] = texts[0].lstrip("\ufeff")  # a BOM read as text (an explicit utf-8 or gb18030)
    return texts


def sheet_header_names(*, header: Sequence[str], layout: SheetLayout, row: int) -> list[str | None]:
    """The column name of each header cell (None where the import reads nothing), or ValidationFailed.

    Refused, every problem listed: a column given twice, a required column missing, and (unless the layout
    ignores them) a header text that is no column of the import.
    """
    names: list[str | None] = []
    seen: dict[str, str] = {}
    errors: list[ErrorDetail] = []
    for text in header:
        if not text:
            names.append(None)
            continue
        column = layout.column_by_key.get(header_key(text))
        if column is None:
            if not layout.ignores_unknown_columns:
                errors.append(
                    ErrorDetail(_unknown_column_message(text, layout), code="unknown_column", field=text, row=row)
                )
            names.append(None)
        elif column.name in seen:
            errors.append(
                ErrorDetail(
                    _("Columns %(first)s and %(second)s are both %(column)s; give each column once.")
                    % {"first": repr(seen[column.name]), "second": repr(text), "column": column.name},
                    code="duplicate_column",
                    field=text,
                    row=row,
                )
            )
            names.append(None)
        else:
            seen[column.name] = text
            names.append(column.name)
    has = words_join(repr(text) for text in header if text) or _("nothing")
    for column in layout.columns:
        if column.is_required and column.name not in seen:
            labels = column.labels()
            if labels:
                message = _("The header has no %(column)s column (or %(labels)s); it has %(found)s.") % {
                    "column": column.name,
                    "labels": words_join(repr(label) for label in labels),
                    "found": has,
                }
            else:
                message = _("The header has no %(column)s column; it has %(found)s.") % {
                    "column": column.name,
                    "found": has,
                }
            errors.append(ErrorDetail(message, code="missing_column", field=column.name, row=row))
    if errors:
        raise ValidationFailed(_header_invalid(row, errors), code="invalid_header", errors=errors)
    return names


def _header_invalid(row: int, errors: list[ErrorDetail]) -> str:
    """``The header (row 1) is not valid: <the first problem> (and 2 more)``."""
    message = _("The header (row %(row)s) is not valid: %(problem)s") % {"row": row, "problem": errors[0].message}
    return and_more(message, len(errors) - 1)


def _unknown_column_message(text: str, layout: SheetLayout) -> str:
    """What is said of a header text that is no column, with a label to show that columns have labels."""
    values = {"column": repr(text), "columns": words_join(layout.names)}
    for column in layout.columns:
        for alias in column.aliases:
            alias = str(alias)
            if alias.lower() != alias and header_key(alias) != header_key(column.name):
                values["label"] = repr(alias)
                return (
                    _(
                        "Column %(column)s is not a column of this import; the columns are %(columns)s (or labels "
                        "such as %(label)s)."
                    )
                    % values
                )
    return _("Column %(column)s is not a column of this import; the columns are %(columns)s.") % values


# --- Errors of cells -------------------------------------------------------------------------------------------


class _CellErrors:
    """Problems of cells, collected while rows stream past; at most MAX_ERRORS kept, all counted."""

    def __init__(self) -> None:
        self.details: list[ErrorDetail] = []
        self.count = 0

    def add(self, *, row: int, field: str | None, message: str, code: str) -> None:
        self.count += 1
        if len(self.details) < MAX_ERRORS:
            self.details.append(ErrorDetail(message, code=code, field=field, row=row))

    def failure(self, extra: ErrorDetail | None = None) -> ValidationFailed:
        details = [*self.details, extra] if extra else self.details
        count = self.count + (1 if extra else 0)
        omitted = {"errors_omitted": count - len(details)} if count > len(details) else {}
        message = ngettext(
            "The file has %(count)s cell that cannot be imported; nothing was saved.",
            "The file has %(count)s cells that cannot be imported; nothing was saved.",
            count,
        ) % {"count": count}
        return ValidationFailed(message, errors=details, **omitted)


# --- CSV text ------------------------------------------------------------------------------------------------


class _Undecodable(Exception):
    """Bytes that are not text in the file's encoding."""


# A file that stops being text in its encoding: found by a decoder of ours, or by io.TextIOWrapper's.
_DECODE_ERRORS = (_Undecodable, UnicodeDecodeError)


# The characters core.text forbids, found in UTF-8 bytes without decoding them: the ASCII ones are read off the
# rule itself; outside ASCII it forbids lone surrogates and U+FFFE/U+FFFF, which tests/core/test_sheets.py proves by
# walking every code point, so that a change of the rule fails there instead of slipping past this shortcut.
_FORBIDDEN_ASCII_BYTES = bytes(code for code in range(128) if FORBIDDEN_CHARACTERS.match(chr(code)))
_FORBIDDEN_NON_ASCII_UTF8 = (re.compile(rb"\xed[\xa0-\xbf]"), re.compile(rb"\xef\xbf[\xbe\xbf]"))
_UTF8_NAMES = frozenset({"utf-8", "utf-8-sig"})
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # a byte the decoder could not read, under "surrogateescape"


def utf8_may_hold_forbidden(data: bytes) -> bool:
    """Whether UTF-8 ``data`` may hold a character core.text forbids (never False when it does)."""
    if len(data.translate(None, _FORBIDDEN_ASCII_BYTES)) != len(data):
        return True
    return any(pattern.search(data) for pattern in _FORBIDDEN_NON_ASCII_UTF8)


class _CsvBytes(io.BufferedIOBase):
    """A CSV file's bytes as UTF-8, block by block, for io.TextIOWrapper, which splits them into lines in C.

    UTF-8 passes through untouched (the usual case, and the fast one); other encodings are decoded and encoded
    again. Without a BOM or a given encoding, the first block that is not ASCII decides between UTF-8 and GB18030
    (the ASCII before it reads the same in both). Each block is searched once for forbidden characters: a file
    without any, nearly every file, then pays for no check per cell. Lone surrogates pass through as such
    (``surrogatepass``), so that they are reported on their cell like any other forbidden character.
    """

    def __init__(self, *, stream: IO[bytes], head: bytes, encoding: str | None, errors: str = "strict") -> None:
        super().__init__()
        self.may_hold_forbidden = False
        self.encoding = encoding or "UTF-8"
        self._errors = errors
        self._converted = self._blocks(stream, head, encoding)
        self._block = b""
        self._position = 0

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        # Blocks are checked whole, but handed out in the pieces io.TextIOWrapper asks for (8 KiB): its lines are
        # then cut from a small decoded string, measurably faster than from a whole block's.
        if self._position >= len(self._block):
            self._block = next(self._converted, b"")
            self._position = 0
        start = self._position
        self._position = len(self._block) if size is None or size < 0 else start + size
        return self._block[start : self._position]

    read = read1

    def _blocks(self, stream: IO[bytes], head: bytes, encoding: str | None) -> Iterator[bytes]:
        blocks = chain([head], iter(lambda: stream.read(BLOCK_SIZE), b""))
        if encoding is None and head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"  # Excel's "Unicode text"; the codec reads the byte order from the BOM
        is_decided = encoding is not None or head.startswith(codecs.BOM_UTF8)
        if encoding is not None and (self._errors != "strict" or codecs.lookup(encoding).name not in _UTF8_NAMES):
            self.encoding = encoding
            yield from self._transcoded(encoding, blocks)
            return
        validator = codecs.getincrementaldecoder("utf-8")("surrogatepass")
        is_first = True
        for block in blocks:
            if is_first:
                block = block.removeprefix(codecs.BOM_UTF8)
                is_first = False
            if not is_decided and not block.isascii():
                try:
                    validator.decode(block)
                except UnicodeDecodeError:
                    self.encoding = "GB18030"
                    yield from self._transcoded("gb18030", chain([block], blocks))
                    return
                is_decided = True
            if not self.may_hold_forbidden and utf8_may_hold_forbidden(block):
                self.may_hold_forbidden = True
            yield block

    def _transcoded(self, encoding: str, blocks: Iterator[bytes]) -> Iterator[bytes]:
        decoder = codecs.getincrementaldecoder(encoding)(self._errors)
        is_first = True
        for block in chain(blocks, [None]):
            try:
                text = decoder.decode(b"", final=True) if block is None else decoder.decode(block)
            except UnicodeDecodeError as error:
                raise _Undecodable(self.encoding) from error
            if is_first:
                text = text.removeprefix("\ufeff")  # a BOM of an encoding given by name
                is_first = False
            if not self.may_hold_forbidden and FORBIDDEN_CHARACTERS.search(text):
                self.may_hold_forbidden = True
            yield text.encode("utf-8", "surrogatepass")

    def text(self) -> io.TextIOWrapper:
        """The decoded lines, split at \\n, \\r\\n and \\r only and keeping their ends, as the csv module wants."""
        return io.TextIOWrapper(self, encoding="utf-8", errors="surrogatepass", newline="")


def _delimiter(line: str) -> str:
    """The delimiter the header line uses most; a comma for a header of one column."""
    counts = [line.count(delimiter) for delimiter in DELIMITERS]
    most = max(counts)
    return DELIMITERS[counts.index(most)] if most else ","


def _first_long_cell(lines: Iterator[str], *, delimiter: str) -> int | None:
    """0-based column of the first cell over MAX_CELL_LENGTH in the record that ``lines`` start with.

    Only for the error path: the csv module refuses a cell over its own limit without saying which one it was.
    """
    index = length = 0
    is_quoted = after_quote = False
    at_start = True
    for line in lines:
        for character in line:
            if is_quoted:
                if after_quote:
                    after_quote = False
                    if character == '"':  # a doubled quote is one quote of the cell
                        length += 1
                        continue
                    is_quoted = False
                elif character == '"':
                    after_quote = True
                    continue
                else:
                    length += 1
            if not is_quoted:
                if character == delimiter:
                    index, length, at_start = index + 1, 0, True
                    continue
                if character in "\r\n":
                    return None
                if character == '"' and at_start:
                    is_quoted, at_start = True, False
                    continue
                at_start = False
                length += 1
            if length > MAX_CELL_LENGTH:
                return index
    return None


# --- The sheet ---------------------------------------------------------------------------------------------------


class Sheet:
    """A spreadsheet whose header has been read: iterate for its rows, or call :meth:`records`.

    ``header_row`` is the header's row number, ``header`` its cells as written (trimmed), ``names`` the column
    name of each header cell under the layout (None where nothing is read). Reading it to the end closes it;
    otherwise close it (or use it as a context manager).
    """

    def __init__(
        self,
        *,
        layout: SheetLayout | None,
        header_row: int,
        header: list[str],
        records: Iterator[tuple[int, Sequence[Any]]],
        csv_bytes: _CsvBytes | None,
        delimiter: str,
        reread: Callable[[str], tuple[_CsvBytes, Callable[[], Any]]] | None,
        closers: list[Callable[[], Any]],
    ) -> None:
        self.layout = layout
        self.header_row = header_row
        self.header = header
        self.names: list[str | None] = (
            sheet_header_names(header=header, layout=layout, row=header_row) if layout else list(header)
        )
        columns = {column.name: column for column in layout.columns} if layout else {}
        self._is_text = [name is not None and columns[name].is_text for name in self.names] if layout else []
        self._records = records
        self._csv_bytes = csv_bytes
        self._delimiter = delimiter
        self._reread = reread
        self._closers = closers
        self._errors = _CellErrors()

    def __enter__(self) -> Sheet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.rows()

    # --- cells

    def column_label(self, index: int) -> str:
        """How errors name the column at ``index``: its column name, else its header text, else its letter."""
        if index < len(self.names) and self.names[index]:
            return self.names[index]
        if index < len(self.header) and self.header[index]:
            return self.header[index]
        return column_letter(index)

    def _outside_header(self, *, row: int, index: int) -> None:
        if index >= len(self.header):
            message = _("The cell in column %(letter)s has a value, but the header has only %(count)s columns.") % {
                "letter": column_letter(index),
                "count": len(self.header),
            }
        else:
            message = _("The cell in column %(letter)s has a value, but that column has no header.") % {
                "letter": column_letter(index)
            }
        self._errors.add(row=row, field=None, message=message, code="cell_outside_header")

    def _checked(self, value: str, *, row: int, index: int) -> str | None:
        """``value`` trimmed and unescaped, or None (and an error kept) when it is too long or holds a bad character."""
        if len(value) > MAX_CELL_LENGTH:
            self._errors.add(
                row=row,
                field=self.column_label(index),
                message=_("The cell has %(length)s characters; a cell may hold at most %(maximum)s (Excel's limit).")
                % {"length": f"{len(value):,}", "maximum": f"{MAX_CELL_LENGTH:,}"},
                code="cell_too_long",
            )
            return None
        message = forbidden_character_message(value)
        if message:
            self._errors.add(row=row, field=self.column_label(index), message=message, code="forbidden_character")
            return None
        value = value.strip()
        return unescape_formula(value) if value[:1] == "'" else value

    def _text(self, value: str, *, row: int, index: int, checks: bool) -> str | None:
        """A text cell trimmed and unescaped; checked too where ``checks`` or its length say so (None when bad).

        The careful path of rows() does the same inline: it runs for every cell of one row in ten or so.
        """
        if checks or len(value) > MAX_CELL_LENGTH:
            return self._checked(value, row=row, index=index)
        value = value.strip()
        return unescape_formula(value) if value[:1] == "'" else value

    def _checks_characters(self) -> bool:
        # CSV text was searched block by block already; XLSX cells are checked one by one.
        return self._csv_bytes is None or self._csv_bytes.may_hold_forbidden

    # --- rows as dicts

    def rows(self) -> Iterator[dict[str, Any]]:
        """One dict per non-blank row: column name → cell (empty cells left out), and ``"_row"``."""
        if self.layout is None:
            raise TypeError("Rows as dicts need a layout; use records() for cells by position.")
        names = self.names
        width = len(names)
        csv_bytes = self._csv_bytes
        # Most rows of a CSV file are plain, which a few searches in C prove; dict(zip()) then builds the row,
        # leaving empty cells out (an order's second line repeats none of the order's columns). Anything else (an
        # empty first cell, a padded cell, a formula escape, a long row, a file with a forbidden character
        # somewhere) takes the careful path, which looks at each cell.
        is_fast = csv_bytes is not None and None not in names
        care = _CARE.search
        care_first = _CARE_FIRST
        blank = _BLANK
        separator = _SEPARATOR
        # The last row allowed: the header's, plus max_rows, plus every row skipped (blank or bad) so far.
        last_row = self.header_row + self.layout.max_rows if self.layout.max_rows else sys.maxsize
        row_number = self.header_row
        try:
            for row_number, record in self._records:
                if (
                    is_fast
                    and len(record) == width
                    and record[0]
                    and record[0][0] not in care_first
                    and record[-1][-1:] not in blank
                    and len(joined := separator.join(record)) <= MAX_CELL_LENGTH
                    and not care(joined)
                    and not csv_bytes.may_hold_forbidden
                ):
                    if "" in record:
                        row = {name: value for name, value in zip(names, record, strict=True) if value}
                    else:
                        row = dict(zip(names, record, strict=True))
                else:
                    row = self._row_with_care(row_number, record)
                    if row is None:
                        last_row += 1
                        continue
                if row_number > last_row:
                    raise _refuse(
                        _("The file has more than %(maximum)s rows; split it into smaller files.")
                        % {"maximum": f"{self.layout.max_rows:,}"},
                        "too_many_rows",
                        row=row_number,
                    )
                row[ROW_KEY] = row_number
                yield row
        except (csv.Error, *_DECODE_ERRORS) as error:
            raise self._unreadable(error, row=row_number + 1) from error
        finally:
            self.close()
        if self._errors.count:
            raise self._errors.failure()

    def _row_with_care(self, row_number: int, record: Sequence[Any]) -> dict[str, Any] | None:
        """The row of ``record``, or None when it is blank or has a bad cell (kept as an error)."""
        names = self.names
        width = len(names)
        is_strict = not self.layout.ignores_unknown_columns
        checks = self._checks_characters()
        row: dict[str, Any] = {}
        has_content = is_bad = False
        for index, value in enumerate(record):
            if type(value) is str:
                if checks or len(value) > MAX_CELL_LENGTH:
                    value = self._checked(value, row=row_number, index=index)
                    if value is None:
                        is_bad = True
                        continue
                else:  # self._text(), inline: a call per cell would cost more than the rest of this loop
                    value = value.strip()
                    if value[:1] == "'":
                        value = unescape_formula(value)
                if not value:
                    continue
            elif value is None:
                continue
            has_content = True
            name = names[index] if index < width else None
            if name is None:
                if is_strict and (index >= width or not self.header[index]):
                    self._outside_header(row=row_number, index=index)
                    is_bad = True
                continue
            if type(value) is not str and self._is_text[index]:
                value = _as_text(value)
            row[name] = value
        if is_bad or not has_content:
            return None
        return row

    # --- cells by position

    def records(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number, cells) of each non-blank row, as many cells as the header has: text trimmed and unescaped,
        other XLSX values as they are. A value in a column without a header is an error."""
        width = len(self.header)
        row_number = self.header_row
        try:
            for row_number, record in self._records:
                checks = self._checks_characters()
                cells: list[Any] = [None] * width
                has_content = is_bad = False
                for index, value in enumerate(record):
                    if type(value) is str:
                        value = self._text(value, row=row_number, index=index, checks=checks)
                        if value is None:
                            is_bad = True
                            continue
                    if value is None or value == "":
                        if index < width:
                            cells[index] = value
                        continue
                    has_content = True
                    if index >= width or not self.header[index]:
                        self._outside_header(row=row_number, index=index)
                        is_bad = True
                        continue
                    cells[index] = value
                if has_content and not is_bad:
                    yield row_number, cells
        except (csv.Error, *_DECODE_ERRORS) as error:
            raise self._unreadable(error, row=row_number + 1) from error
        finally:
            self.close()
        if self._errors.count:
            raise self._errors.failure()

    # --- files that cannot be read on

    def _unreadable(self, error: Exception, *, row: int) -> ValidationFailed:
        if isinstance(error, _DECODE_ERRORS):
            encoding = self._csv_bytes.encoding if self._csv_bytes else "UTF-8"
            found = _undecodable_cell(self._reread, delimiter=self._delimiter)
            if found is None:
                # io.TextIOWrapper decodes ahead of the rows it hands out, so this is only roughly where.
                detail = ErrorDetail(
                    _("The file stops being %(encoding)s text around row %(row)s; save it again as CSV UTF-8 or XLSX.")
                    % {"encoding": encoding, "row": row},
                    code="unreadable_file",
                    row=row,
                )
            else:
                detail = ErrorDetail(
                    _(
                        "The cell is not %(encoding)s text, though the rows above it were; the file mixes encodings. "
                        "Save it again as CSV UTF-8 or XLSX."
                    )
                    % {"encoding": encoding},
                    code="unreadable_file",
                    field=self.column_label(found[1]),
                    row=found[0],
                )
        elif "field larger than field limit" in str(error):
            index = self._long_cell_index(row)
            detail = ErrorDetail(
                _("The cell has more than %(maximum)s characters (Excel's limit for a cell).")
                % {"maximum": f"{MAX_CELL_LENGTH:,}"},
                code="cell_too_long",
                field=None if index is None else self.column_label(index),
                row=row,
            )
        else:
            detail = ErrorDetail(
                _("The CSV cannot be read on from here: %(error)s.") % {"error": error}, code="unreadable_file", row=row
            )
        return self._errors.failure(detail)

    # The csv module and io.TextIOWrapper stop at a problem without saying in which cell it is. Both happen only
    # with broken files, so the file is read again to find it, rather than every row paying to keep track.

    def _long_cell_index(self, row: int) -> int | None:
        """Which column of ``row`` holds the cell the csv module found too long."""
        if self._reread is None:
            return None
        csv_bytes, close = self._reread("strict")
        try:
            lines = csv_bytes.text()
            reader = csv.reader(lines, delimiter=self._delimiter)
            # The rows above were read before, so the reader gets through them, and it stops taking lines right
            # at the end of the last one: where the long row starts.
            for _ in zip(range(row - 1), reader, strict=False):
                pass
            return _first_long_cell(lines, delimiter=self._delimiter)
        except (OSError, csv.Error, *_DECODE_ERRORS):
            return None
        finally:
            close()


def _undecodable_cell(
    reread: Callable[[str], tuple[_CsvBytes, Callable[[], Any]]] | None, *, delimiter: str
) -> tuple[int, int] | None:
    """Row and column index of the first cell holding bytes that are not text in the file's encoding."""
    if reread is None:
        return None
    csv_bytes, close = reread("surrogateescape")
    try:
        for row_number, record in enumerate(csv.reader(csv_bytes.text(), delimiter=delimiter), 1):
            for index, value in enumerate(record):
                if _ESCAPED_BYTE.search(value):
                    return row_number, index
        return None
    except (OSError, csv.Error, *_DECODE_ERRORS):
        return None
    finally:
        close()


def _byte_stream(source: SheetSource) -> tuple[IO[bytes], list[Callable[[], Any]], Callable[[], IO[bytes]] | None]:
    """A binary stream of ``source`` at its start, what to close when done, and how to read it again."""
    if isinstance(source, bytes | bytearray | memoryview):
        content = bytes(source)
        return io.BytesIO(content), [], lambda: io.BytesIO(content)
    if isinstance(source, os.PathLike):
        path = os.fspath(source)
        stream = open(path, "rb")  # noqa: SIM115 - closed with the Sheet
        return stream, [stream.close], lambda: open(path, "rb")
    if hasattr(source, "read"):
        seekable = getattr(source, "seekable", lambda: False)()
        if seekable:
            source.seek(0)

        def again() -> IO[bytes]:
            source.seek(0)
            return source

        return source, [], again if seekable else None
    raise TypeError(f"Cannot read a sheet from {type(source).__name__}; give bytes, a path or a binary file.")


def sheet_open(*, source: SheetSource, layout: SheetLayout | None, encoding: str | None = None) -> Sheet:
    """Open ``source`` (bytes, a path, or a binary file such as an upload) and read its header.

    ``layout`` None keeps every column as the header names it (for :meth:`Sheet.records`). ``encoding``: for CSV
    only; None detects it (a BOM, else UTF-8, else GB18030). A file that cannot be read, is empty, or whose header
    the layout refuses raises ValidationFailed here, before any row is read.
    """
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise _refuse(
                _("Unknown text encoding %(encoding)s.") % {"encoding": repr(encoding)},
                "unknown_encoding",
                field="encoding",
            ) from None
    upload_name_check(source)  # core.uploads: what an upload must be before a row is read
    stream, closers, reopen_stream = _byte_stream(source)
    try:
        head = stream.read(BLOCK_SIZE)
        if head.startswith(XLS_SIGNATURE):
            raise _refuse(
                _("Old Excel files (.xls) are not read; save the sheet as XLSX (Excel Workbook) or CSV UTF-8."),
                "unsupported_format",
                field="file",
            )
        csv_bytes = reread = None
        delimiter = ","
        if head.startswith(XLSX_SIGNATURE):
            records, workbook_close = _xlsx_records(stream, head)
            closers.append(workbook_close)
        else:
            upload_content_check(head)
            csv_bytes = _CsvBytes(stream=stream, head=head, encoding=encoding)
            lines = csv_bytes.text()
            if reopen_stream is not None:

                def reread(errors: str, read: _CsvBytes = csv_bytes) -> tuple[_CsvBytes, Callable[[], Any]]:
                    again = reopen_stream()
                    close = again.close if again is not stream else (lambda: None)
                    first_block = again.read(BLOCK_SIZE)
                    return _CsvBytes(stream=again, head=first_block, encoding=read.encoding, errors=errors), close

            peeked: list[str] = []
            try:
                for line in lines:
                    peeked.append(line)
                    if line.strip(" \t\r\n,;"):
                        break
            except _DECODE_ERRORS as error:
                raise _not_text(encoding, found=_undecodable_cell(reread, delimiter=",")) from error
            delimiter = _delimiter(peeked[-1] if peeked else "")
            records = enumerate(csv.reader(chain(peeked, lines), delimiter=delimiter), 1)
        records = _bounded(records)

        try:
            header_row, header = _header(records)
        except _DECODE_ERRORS as error:
            raise _not_text(encoding, found=_undecodable_cell(reread, delimiter=delimiter)) from error
        return Sheet(
            layout=layout,
            header_row=header_row,
            header=header,
            records=records,
            csv_bytes=csv_bytes,
            delimiter=delimiter,
            reread=reread,
            closers=closers,
        )
    except BaseException:
        for close in reversed(closers):
            close()
        raise


def _bounded(records: Iterator[tuple[int, Sequence[Any]]]) -> Iterator[tuple[int, Sequence[Any]]]:
    """The records, refused past Excel's own row and column limits (core.uploads)."""
    for row_number, record in records:
        if row_number > MAX_ROWS or len(record) > MAX_COLUMNS:
            sheet_size_check(row=row_number, width=len(record))
        yield row_number, record


def sheet_open_table(*, rows: Iterable[Sequence[Any]], layout: SheetLayout | None) -> Sheet:
    """A sheet over rows another parser has read already (a tablib Dataset's header and rows, say), checked and
    numbered as a file would be: the first non-blank row is the header, the rows follow it without gaps."""
    records = enumerate(rows, 1)
    header_row, header = _header(records)
    return Sheet(
        layout=layout,
        header_row=header_row,
        header=header,
        records=records,
        csv_bytes=None,
        delimiter=",",
        reread=None,
        closers=[],
    )


def _not_text(encoding: str | None, *, found: tuple[int, int] | None) -> ValidationFailed:
    if encoding is None:
        message = _(
            "The file is neither an XLSX workbook nor CSV text (UTF-8, UTF-16 with a BOM, or GB18030); "
            "save it as CSV UTF-8 or XLSX."
        )
    else:
        message = _("The file is not %(encoding)s text; save it as CSV UTF-8 or XLSX, or give its encoding.") % {
            "encoding": encoding
        }
    if found is None:
        return _refuse(message, "unreadable_file", field="file")
    row, index = found
    return _refuse(
        _("%(message)s The first cell that cannot be read is in row %(row)s, column %(letter)s.")
        % {"message": message, "row": row, "letter": column_letter(index)},
        "unreadable_file",
        field=column_letter(index),
        row=row,
    )


def _header(records: Iterator[tuple[int, Sequence[Any]]]) -> tuple[int, list[str]]:
    """The row number and the cells of the first row that is not blank."""
    row_number = 0
    try:
        for row_number, record in records:
            if _is_blank(record):
                continue
            header = _header_texts(record)
            errors = []
            for index, text in enumerate(header):
                problem = (
                    _("The header cell has %(length)s characters; a cell may hold at most %(maximum)s.")
                    % {"length": f"{len(text):,}", "maximum": f"{MAX_CELL_LENGTH:,}"}
                    if len(text) > MAX_CELL_LENGTH
                    else forbidden_character_message(text)
                )
                if problem:
                    errors.append(
                        ErrorDetail(problem, code="invalid_header", field=column_letter(index), row=row_number)
                    )
            if errors:
                raise ValidationFailed(
                    _("The header (row %(row)s) is not valid: %(problem)s")
                    % {"row": row_number, "problem": errors[0].message},
                    code="invalid_header",
                    errors=errors,
                )
            return row_number, header
    except csv.Error as error:
        raise _refuse(
            _("The header (row %(row)s) cannot be read: %(error)s.") % {"row": row_number + 1, "error": error},
            "unreadable_file",
            row=row_number + 1,
        ) from error
    raise _refuse(_("The file is empty: it has no header row."), "empty_file", field="file")


def _xlsx_records(stream: IO[bytes], head: bytes) -> tuple[Iterator[tuple[int, Sequence[Any]]], Callable[[], Any]]:
    from openpyxl import load_workbook  # only XLSX imports pay for importing openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if stream.seekable():
        stream.seek(0)
        content: IO[bytes] = stream
    else:
        content = io.BytesIO(head + stream.read())
    xlsx_archive_check(content)
    try:
        workbook = load_workbook(content, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except (zipfile.BadZipFile, InvalidFileException, KeyError, IndexError, OSError, ValueError) as error:
        raise _refuse(
            _("The XLSX workbook cannot be read (%(error)s); save it again as XLSX or CSV UTF-8.") % {"error": error},
            "unreadable_file",
            field="file",
        ) from error
    # Some programs write a wrong size into the sheet; without it every row is read.
    sheet.reset_dimensions()

    def records() -> Iterator[tuple[int, Sequence[Any]]]:
        row_number = 0
        try:
            for row_number, values in enumerate(sheet.iter_rows(values_only=True), 1):
                yield row_number, values
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError) as error:
            raise _refuse(
                _("The XLSX workbook cannot be read after row %(row)s (%(error)s); save it again as XLSX.")
                % {"row": row_number, "error": error},
                "unreadable_file",
                row=row_number + 1,
            ) from error

    return records(), workbook.close

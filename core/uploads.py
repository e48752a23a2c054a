"""What an uploaded spreadsheet must be before a row of it is read: its name, its kind, its unpacked size.

Every import opens its file with :func:`core.sheets.sheet_open`, which calls these checks, so the API's upload
endpoints, the admin's imports (django-import-export and the import pages of stores and rate cards) and the
command line are judged alike. The body's size is bounded earlier, by its declared length (core/middleware.py).

* **Name.** A file that comes with a name (an upload) must end in ``.csv``, ``.xlsx``, or ``.txt``/``.tsv``
  (what Excel writes for "Unicode text"); the content decides which of the two formats it is.
* **Kind.** A program, an archive, an image, a PDF or an HTML page is refused by its first bytes, before any
  decoding, with a message that says what it looks like.
* **XLSX.** It must be an OOXML workbook (``[Content_Types].xml`` and ``xl/workbook.xml`` in the zip), with at
  most ``MAX_ZIP_MEMBERS`` members, whose unpacked size stays under ``SHEET_XLSX_MAX_UNPACKED`` bytes and whose
  members are not packed more than ``MAX_PACKING_RATIO`` to 1 (a "zip bomb" inflates a small file into gigabytes).
  The sizes are those the zip declares; Python's zip reader never inflates a member past its declared size.
* **Rows and columns** beyond Excel's own limits (1,048,576 × 16,384) are refused while the rows stream past
  (core/sheets.py).
"""

from __future__ import annotations

import os
import zipfile
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.errors import ErrorDetail, ValidationFailed

ALLOWED_EXTENSIONS = (".csv", ".xlsx", ".txt", ".tsv")
MAX_ROWS = 1_048_576  # Excel's own limits: no real spreadsheet is larger
MAX_COLUMNS = 16_384
MAX_ZIP_MEMBERS = 1_000
MAX_PACKING_RATIO = 200  # XML of real workbooks packs 5 to 50 times
RATIO_CHECKED_ABOVE = 1 << 20  # tiny members pack as they like
FIELD = "file"

# First bytes of files that are never a spreadsheet, and what to call them in the message.
BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"MZ", gettext_noop("a Windows program")),
    (b"\x7fELF", gettext_noop("a program")),
    (b"%PDF", gettext_noop("a PDF document")),
    (b"\x89PNG", gettext_noop("an image")),
    (b"\xff\xd8\xff", gettext_noop("an image")),
    (b"GIF8", gettext_noop("an image")),
    (b"\x1f\x8b", gettext_noop("a gzip archive")),
    (b"7z\xbc\xaf", gettext_noop("a 7-Zip archive")),
    (b"Rar!", gettext_noop("a RAR archive")),
    (b"BZh", gettext_noop("a bzip2 archive")),
    (b"\xfd7zXZ", gettext_noop("an xz archive")),
)
# Bytes of text: everything but the C0 control characters other than tab, line feed, form feed and carriage return.
TEXT_BYTES = bytes(set(range(256)) - set(range(0x20)) | {0x09, 0x0A, 0x0C, 0x0D})
HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")


def _refused(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, errors=[ErrorDetail(message, code=code, field=FIELD)])


def upload_name_check(source: object) -> None:
    """Refuse a named upload whose name does not end in one of ALLOWED_EXTENSIONS (paths given on the command
    line and bytes are not judged by a name)."""
    if isinstance(source, os.PathLike | bytes | bytearray | memoryview):
        return
    name = getattr(source, "name", None)
    if not isinstance(name, str) or not name:
        return
    extension = os.path.splitext(name)[1].lower()
    if extension not in ALLOWED_EXTENSIONS:
        raise _refused(
            _("%(name)s is not a spreadsheet: only .csv and .xlsx files are imported.")
            % {"name": os.path.basename(name)[:100]},
            "unsupported_file_type",
        )


def upload_content_check(head: bytes) -> None:
    """Refuse a file whose first bytes show it is a program, an archive, an image, a PDF or a web page."""
    for signature, kind in BINARY_SIGNATURES:
        if head.startswith(signature):
            raise _refused(
                _("The file is %(kind)s, not a spreadsheet; save the sheet as CSV UTF-8 or XLSX.") % {"kind": _(kind)},
                "unsupported_file_type",
            )
    start = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(HTML_STARTS):
        raise _refused(
            _("The file is a web page (HTML or XML), not a spreadsheet; save the sheet as CSV UTF-8 or XLSX."),
            "unsupported_file_type",
        )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 text: every other byte of Latin text is NUL
    sample = head[:8192]
    # A stray control character is a bad cell, reported with its row and column by core.sheets; a file full of
    # them is not text at all.
    if len(sample.translate(None, TEXT_BYTES)) > max(8, len(sample) // 10):
        raise _refused(
            _("The file holds binary data, not text; save the sheet as CSV UTF-8 or XLSX."),
            "unsupported_file_type",
        )


def xlsx_archive_check(stream: IO[bytes]) -> None:
    """Refuse a zip that is not an XLSX workbook, or that would unpack to more than this server reads."""
    position = stream.tell()
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise _refused(
            _("The XLSX workbook cannot be read (%(error)s); save it again as XLSX or CSV UTF-8.") % {"error": error},
            "unreadable_file",
        ) from error
    finally:
        stream.seek(position)
    names = {member.filename for member in members}
    if not {"[Content_Types].xml", "xl/workbook.xml"} <= names:
        raise _refused(
            _("The file is a zip archive, not an XLSX workbook; save the sheet as XLSX or CSV UTF-8."),
            "unsupported_file_type",
        )
    limit = settings.SHEET_XLSX_MAX_UNPACKED
    unpacked = sum(member.file_size for member in members)
    too_packed = any(
        member.file_size > RATIO_CHECKED_ABOVE and member.file_size > MAX_PACKING_RATIO * max(member.compress_size, 1)
        for member in members
    )
    if len(members) > MAX_ZIP_MEMBERS or unpacked > limit:
        raise _refused(
            _(
                "The XLSX workbook unpacks to %(size)s, more than the %(limit)s this server reads; split it, or save "
                "it as CSV UTF-8."
            )
            % {"size": _megabytes(unpacked), "limit": _megabytes(limit)},
            "file_too_large",
        )
    if too_packed:
        raise _refused(
            _(
                "The XLSX workbook is packed far tighter than a spreadsheet can be (a zip bomb?); save the sheet again "
                "as XLSX or CSV UTF-8."
            ),
            "suspicious_file",
        )


def sheet_size_check(*, row: int, width: int) -> None:
    """Refuse a sheet once it has more rows or columns than Excel itself allows."""
    if row > MAX_ROWS or width > MAX_COLUMNS:
        raise _refused(
            _("The sheet has more than %(rows)s rows or %(columns)s columns, more than a spreadsheet holds.")
            % {"rows": f"{MAX_ROWS:,}", "columns": f"{MAX_COLUMNS:,}"},
            "file_too_large",
        )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"

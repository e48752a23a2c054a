"""File exports of API lists: CSV streamed at any size, XLSX up to a row limit, every text cell formula-safe."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from openpyxl import Workbook
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request

from core.api.schema import BAD_INPUT
from core.errors import ErrorDetail, ValidationFailed
from core.spreadsheet import escape_formula

EXPORT_XLSX_MAX_ROWS = 100_000
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ExportNegotiation(DefaultContentNegotiation):
    """Exports read ``?format=csv|xlsx`` themselves; DRF would take it as a renderer name. Errors stay JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


EXPORT_PARAMETERS = [
    OpenApiParameter(
        "format", OpenApiTypes.STR, enum=["csv", "xlsx"], default="csv", description="File type of the export."
    )
]
EXPORT_RESPONSES = {
    (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="CSV, UTF-8 with BOM."),
    (200, XLSX_MEDIA_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="XLSX workbook, one sheet."),
    400: BAD_INPUT,
}


class _Echo:
    """A file that hands back what is written, so csv.writer can feed a streaming response line by line."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # the BOM makes Excel read the file as UTF-8 (Chinese product names)
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([escape_formula(value) for value in row])


def export_response(
    request: Request,
    *,
    queryset: QuerySet,
    header: list[str],
    row_of: Callable[[Any], list[Any]],
    name: str,
) -> HttpResponse | StreamingHttpResponse:
    """Stream the rows as CSV (any size), or build an XLSX (at most EXPORT_XLSX_MAX_ROWS rows)."""
    file_format = (request.query_params.get("format") or "csv").lower()
    filename = f"{name}-{timezone.localtime():%Y%m%d-%H%M%S}"
    if file_format == "csv":
        rows = (row_of(item) for item in queryset.iterator(chunk_size=2000))
        response = StreamingHttpResponse(_csv_lines(header, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    if file_format != "xlsx":
        raise ValidationFailed(
            _("Unknown export format %(format)s; use csv or xlsx.") % {"format": repr(file_format)},
            errors=[ErrorDetail(_("Must be csv or xlsx."), field="format", code="invalid_choice")],
        )
    total = queryset.count()
    if total > EXPORT_XLSX_MAX_ROWS:
        limit = {"total": total, "maximum": EXPORT_XLSX_MAX_ROWS}
        raise ValidationFailed(
            _("%(total)s rows are too many for XLSX (at most %(maximum)s); narrow the filters or use csv.") % limit,
            code="too_many_rows",
            errors=[ErrorDetail(_("At most %(maximum)s rows.") % limit, field="format", code="too_many_rows")],
        )
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(name)
    sheet.append(header)
    for item in queryset.iterator(chunk_size=2000):
        sheet.append([escape_formula(value) for value in row_of(item)])
    content = io.BytesIO()
    workbook.save(content)
    response = HttpResponse(content.getvalue(), content_type=XLSX_MEDIA_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response

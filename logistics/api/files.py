"""Files handed out as downloads (labels, manifests, carriers' documents), for the API and the admin alike.

A file goes out as what it is (application/pdf, application/x-zpl), or as plain bytes
(application/octet-stream) to a client whose Accept header prefers that: generic HTTP clients, and clients
generated from the schema, read those."""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

LABEL_MEDIA_TYPES = {"pdf": "application/pdf", "zpl": "application/x-zpl"}
OCTET_STREAM = "application/octet-stream"
AS_BYTES = {(200, OCTET_STREAM): OpenApiResponse(OpenApiTypes.BINARY, description="The same file, as plain bytes.")}


def file_name(text: str) -> str:
    """A name safe in a Content-Disposition header: letters, digits, dot, dash and underscore."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "file"


def file_response(data: bytes, media_type: str, name: str, request: HttpRequest | None = None) -> HttpResponse:
    if request is not None:
        media_type = request.get_preferred_type([media_type, OCTET_STREAM]) or media_type
    response = HttpResponse(data, content_type=media_type)
    response["Content-Disposition"] = f'attachment; filename="{file_name(name)}"'
    return response


def label_response(data: bytes, label_format: str, name: str, request: HttpRequest | None = None) -> HttpResponse:
    """Labels as ``labels_print`` gave them: a PDF, or a ZPL stream for a thermal printer."""
    media_type = LABEL_MEDIA_TYPES.get(label_format, OCTET_STREAM)
    return file_response(data, media_type, f"{name}.{label_format}", request)

"""Every PDF is rendered here, by WeasyPrint, with a fetcher that reads only our own static files.

A template is trusted, but what it shows is not always ours (a product title, an address, a supplier's note), and
WeasyPrint would fetch whatever URL a document names: another host (a request from inside our network, SSRF),
``file:///etc/passwd``, a path that climbs out of the static folder. :class:`StaticOnlyFetcher` answers only
``data:`` URIs and the files ``{% static %}`` names (found by the staticfiles finders, else in ``STATIC_ROOT``);
everything else is refused without a byte sent or read, and WeasyPrint renders the document without it.

Relative URLs resolve against :data:`BASE_URL`, a host under the reserved ``.invalid`` top-level domain that
never resolves: ``{% static 'x.css' %}`` (``/static/x.css``) becomes ``https://static.seabridge.invalid/static/x.css``,
which the fetcher maps back to the static file, and no other URL on that host is read.
"""

from __future__ import annotations

import mimetypes
import posixpath
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings

LOCAL_HOST = "static.seabridge.invalid"
BASE_URL = f"https://{LOCAL_HOST}/"


class FetchRefused(ValueError):
    """A URL a document may not read; WeasyPrint logs it and renders without the resource."""


def static_file_path(url: str) -> Path:
    """The file of our static files that ``url`` (under :data:`BASE_URL` + ``STATIC_URL``) names; FetchRefused
    for any other URL, for a path with ``..`` or a backslash, and for a file that does not exist."""
    parts = urlsplit(url)
    if parts.scheme != "https" or parts.netloc != LOCAL_HOST or parts.query:
        raise FetchRefused(f"PDFs read only our static files, not {url[:120]!r}.")
    static_prefix = "/" + settings.STATIC_URL.strip("/") + "/"
    path = unquote(parts.path)
    if not path.startswith(static_prefix):
        raise FetchRefused(f"PDFs read only our static files, not {url[:120]!r}.")
    name = path[len(static_prefix) :]
    segments = name.split("/")
    if not name or "\\" in name or "\x00" in name or any(segment in ("", ".", "..") for segment in segments):
        raise FetchRefused(f"Not a static file name: {name[:120]!r}.")
    name = posixpath.normpath(name)
    from django.contrib.staticfiles import finders

    found = finders.find(name)
    if found:
        return Path(found)
    root = Path(settings.STATIC_ROOT).resolve()
    candidate = (root / name).resolve()
    if candidate.is_relative_to(root) and candidate.is_file():
        return candidate
    raise FetchRefused(f"No static file {name[:120]!r}.")


@cache
def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse  # Pango loads with WeasyPrint: only PDFs pay for it

    class StaticOnlyFetcher(URLFetcher):
        """WeasyPrint's fetcher, answering only data: URIs and our static files (see the module's docstring)."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data", "https"), allow_redirects=False, timeout=1)

        def fetch(self, url, headers=None):
            if url[:5].lower() == "data:":
                return super().fetch(url, headers)  # decoded in memory by urllib's DataHandler, nothing is fetched
            path = static_file_path(url)
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})

    return StaticOnlyFetcher


def pdf_from_html(html: str) -> bytes:
    """``html`` rendered as a PDF; it may use data: URIs and our static files, and nothing else."""
    from weasyprint import HTML

    return HTML(string=html, base_url=BASE_URL, url_fetcher=_fetcher_class()()).write_pdf()

"""WeasyPrint reads only our static files and data: URIs: another host gets no request, no local file is read."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pypdf import PdfReader

from core.pdf import BASE_URL, FetchRefused, pdf_from_html, static_file_path

# A 1×1 PNG, as a data: URI (decoded in memory, allowed).
PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5"
    "ErkJggg=="
)


@pytest.fixture(scope="module")
def other_host():
    """An HTTP server on 127.0.0.1 that counts what it is asked for (it would answer with an image and a style)."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            body = b"body { background: red }" if self.path.endswith(".css") else b"GIF89a"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


def test_another_host_and_local_files_are_never_read(other_host):
    url, requests = other_host
    html = f"""<html><head>
      <style>@import url("{url}/evil.css"); @font-face {{ font-family: X; src: url("{url}/font.woff") }}</style>
      <link rel="stylesheet" href="{url}/linked.css">
      </head><body>
      <p>Label text 标签</p>
      <img src="{url}/pixel.gif">
      <img src="file:///etc/passwd">
      <img src="/static/../../../../etc/passwd">
      <img src="{PIXEL}">
      <a rel="attachment" href="file:///etc/passwd">attached</a>
      <a rel="attachment" href="{url}/attachment.txt">attached too</a>
      </body></html>"""
    pdf = pdf_from_html(html)
    assert requests == []
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    assert "Label text" in reader.pages[0].extract_text()
    assert reader.attachments == {}
    assert b"root:" not in pdf


def test_our_static_files_are_read():
    """A stylesheet given by {% static %} (here one of the admin's) is read from the static files."""
    path = static_file_path(BASE_URL + "static/admin/css/base.css")
    assert path.name == "base.css"
    assert path.is_file()
    html = '<html><head><link rel="stylesheet" href="/static/admin/css/base.css"></head><body>x</body></html>'
    assert pdf_from_html(html).startswith(b"%PDF-")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1/static/admin/css/base.css",
        "https://example.com/static/admin/css/base.css",
        BASE_URL + "static/../../etc/passwd",
        BASE_URL + "static/%2e%2e/%2e%2e/etc/passwd",
        BASE_URL + "static/admin/..%5c..%5cetc/passwd",
        BASE_URL + "static//etc/passwd",
        BASE_URL + "etc/passwd",
        BASE_URL + "static/admin/css/base.css?x=1",
        BASE_URL + "static/no/such/file.css",
    ],
)
def test_anything_else_is_refused(url):
    with pytest.raises(FetchRefused):
        static_file_path(url)

"""Local servers that speak a platform's real wire format (marketplaces, carriers), for the tests, the benchmarks
and the demo.

A simulator is a plain WSGI application (no Django) holding a store's orders or a carrier's parcels in memory. It
answers what the platform's documents say it answers, traps included (paging quirks, throttling dialects, expiring
tokens, partial failures), and lets a test inject faults: ``sim.fault(...)`` makes the next matching requests
answer a given status, body and headers, or hang past the client's time-out. Every request is logged
(``sim.requests``), so a test can assert what the adapter sent.

``SimulatorServer(sim)`` serves one on 127.0.0.1 on a free port, in a thread, as a context manager.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    root: str = ""  # scheme, host and the prefix the simulator is mounted under (``/yunexpress`` in the demo)

    def url(self, path: str) -> str:
        """An absolute URL of ``path`` on this simulator, as the client reached it (files served by URL)."""
        return self.root.rstrip("/") + "/" + path.lstrip("/")

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """Every value of a repeated parameter, and comma-separated values split (both styles are used)."""
        values: list[str] = []
        for value in self.query.get(name, []):
            values.extend(part for part in value.split(",") if part)
        return values

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list → JSON; bytes or str → as is
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if self.body is None:
            return b"", self.headers.get("Content-Type", "application/json")
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "application/octet-stream")
        if isinstance(self.body, str):
            return self.body.encode(), self.headers.get("Content-Type", "text/plain; charset=utf-8")
        return json.dumps(self.body).encode(), self.headers.get("Content-Type", "application/json")


@dataclass
class Fault:
    """The next ``times`` requests whose path starts with ``path`` (and method matches, if given) get this
    answer instead of the real one; ``delay`` seconds of silence first (longer than a client's time-out, it is
    a time-out). ``after`` lets that many matching requests through first (a failure in the middle of paging)."""

    path: str
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    delay: float = 0.0
    method: str | None = None
    after: int = 0
    passthrough: bool = False  # delay, then answer normally
    # With passthrough: act at once, then hold the answer back for ``delay`` (the platform did it; the client, gone
    # by then, does not know).
    acts_first: bool = False


class Simulator:
    """Base of the platform simulators: routing, request log, faults. Subclasses implement ``handle``."""

    name = "simulator"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.requests: list[Request] = []
        self._faults: deque[Fault] = deque()

    # -- for tests ----------------------------------------------------------------------------------------------

    def fault(self, path: str, **kwargs: Any) -> Fault:
        fault = Fault(path=path, **kwargs)
        with self.lock:
            self._faults.append(fault)
        return fault

    def requests_to(self, path: str, method: str | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(path) and (method is None or r.method == method)]

    # -- WSGI ---------------------------------------------------------------------------------------------------

    def _take_fault(self, request: Request) -> Fault | None:
        with self.lock:
            for fault in self._faults:
                if not request.path.startswith(fault.path) or fault.method not in (None, request.method):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    return None
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        request = Request(
            method=environ["REQUEST_METHOD"],
            path=environ.get("PATH_INFO", "/"),
            query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            headers=headers,
            body=body,
            root="http://" + headers.get("host", "127.0.0.1") + environ.get("SCRIPT_NAME", ""),
        )
        with self.lock:
            self.requests.append(request)
        fault = self._take_fault(request)
        acted: Response | None = None
        if fault is not None and fault.passthrough and fault.acts_first:
            acted = self._handled(request)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if acted is not None:
            response = acted
        elif fault is not None and not fault.passthrough:
            response = Response(fault.status, fault.body, dict(fault.headers))
        else:
            response = self._handled(request)
        payload, content_type = response.encoded()
        status = f"{response.status} {HTTPStatus(response.status).phrase}"
        response_headers = [("Content-Type", content_type), ("Content-Length", str(len(payload)))]
        response_headers += [(k, v) for k, v in response.headers.items() if k.lower() not in {"content-type"}]
        start_response(status, response_headers)
        return [payload]

    def _handled(self, request: Request) -> Response:
        try:
            return self.handle(request)
        except Exception as exc:
            return Response(500, {"error": f"simulator error: {exc!r}"})

    def handle(self, request: Request) -> Response:
        raise NotImplementedError


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class SimulatorServer:
    """Serve a WSGI app on 127.0.0.1 (a free port) in a background thread while the context is open."""

    def __init__(self, app: Callable, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.server = make_server(host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
        # A short poll, so stopping a server (once per test) does not wait half a second.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"simulator-{port}", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SimulatorServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def pdf_document(width_pt: int, height_pt: int, lines: list[str]) -> bytes:
    """A real one-page PDF of ``width_pt`` × ``height_pt`` points holding ``lines`` of Helvetica text (what the
    carriers' simulators serve as labels and forms: small, and readable by any PDF reader)."""
    shown = "".join(
        f"BT /F1 12 Tf 14 {height_pt - 30 - 18 * number} Td ({_pdf_text(line)}) Tj ET\n"
        for number, line in enumerate(lines)
    ).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R " % (width_pt, height_pt)
        + b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(shown) + shown + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def mm_pt(millimetres: float) -> int:
    return round(millimetres * 72 / 25.4)


def _pdf_text(text: str) -> str:
    printable = text.encode("ascii", "replace").decode()
    return printable.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

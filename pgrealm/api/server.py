"""The HTTP/1.1 listener: bytes on a socket in, ``HttpRequest`` to a handler, bytes out.

    ThreadingHTTPServer
     +-- _Server            carries the handler; one daemon thread per connection
    BaseHTTPRequestHandler
     +-- _RequestHandler    reads one request (Content-Length or chunked), writes one response

It knows nothing of AWS: ``ApiServer`` takes any ``Callable[[HttpRequest], HttpResponse]``.
Keep-alive matters because the aws CLI and boto3 reuse pooled connections; ``Expect:
100-continue`` is answered by ``BaseHTTPRequestHandler`` itself once the protocol is
HTTP/1.1. Bodies are never logged: they carry master-user and directory passwords.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from pgrealm.api.http import HttpRequest, HttpResponse

__all__ = ["ApiServer", "Handler", "MAX_BODY_BYTES", "serve_in_thread"]

log = logging.getLogger(__name__)

Handler = Callable[[HttpRequest], HttpResponse]

# far above any request of the served APIs, low enough that a runaway client is refused
MAX_BODY_BYTES = 16 * 1024 * 1024
# an idle pooled connection is dropped after this long, freeing its thread
_IDLE_TIMEOUT_S = 120.0
# response headers the server computes itself; a handler's copy would be a duplicate
_OWN_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


class _BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: Handler) -> None:
        self.handler = handler
        super().__init__(address, _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that hangs up mid-response is routine, not worth a traceback on stderr
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the body waits for the
    # client's delayed ACK of the headers (~40 ms on every keep-alive response).
    disable_nagle_algorithm = True
    server_version = "pgrealm"
    sys_version = ""
    timeout = _IDLE_TIMEOUT_S
    server: _Server

    # http.server dispatches on do_<METHOD>; all methods take the same path
    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _serve(self) -> None:
        started = time.monotonic()
        try:
            request = self._read_request()
        except _BadRequest as exc:
            self.close_connection = True
            self._write(
                HttpResponse(
                    exc.status, {"Content-Type": "text/plain"}, exc.reason.encode() + b"\n"
                )
            )
            self._log(exc.status, started)
            return
        try:
            response = self.server.handler(request)
        except Exception:
            log.exception("handler failed on %s %s", request.method, request.path)
            response = HttpResponse(500, {"Content-Type": "text/plain"}, b"Internal Server Error\n")
        self._write(response)
        self._log(response.status, started)

    def _read_request(self) -> HttpRequest:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            # repeated headers fold into one, comma-joined as RFC 9110 section 5.3 allows
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        target = self.path
        if "://" in target.split("?", 1)[0]:  # absolute-form request target
            parts = urlsplit(target)
            target = parts.path + ("?" + parts.query if parts.query else "")
        path, _, query = target.partition("?")
        body = self._read_body(headers)
        return HttpRequest(self.command, path or "/", query, headers, body)

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        raw = headers.get("content-length", "")
        if not raw:
            return b""
        try:
            length = int(raw)
        except ValueError:
            raise _BadRequest(400, "Content-Length is not a number") from None
        if length < 0:
            raise _BadRequest(400, "Content-Length is negative")
        if length > MAX_BODY_BYTES:
            raise _BadRequest(413, "request body too large")
        body = self.rfile.read(length)
        if len(body) != length:
            raise _BadRequest(400, "request body shorter than Content-Length")
        return body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequest(400, "malformed chunk size") from None
            if size == 0:
                break
            total += size
            if total > MAX_BODY_BYTES:
                raise _BadRequest(413, "request body too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)  # the CRLF closing the chunk
        # trailer fields, if any, end with an empty line; AWS's protocols carry none we need
        while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
            pass
        return b"".join(chunks)

    def _write(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name.lower() not in _OWN_HEADERS:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)
        self.wfile.flush()

    def _log(self, status: int, started: float) -> None:
        log.debug(
            "%s %s -> %d (%.1f ms)",
            self.command,
            self.path.split("?", 1)[0],
            status,
            (time.monotonic() - started) * 1000,
        )

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # _log writes one line per request, with timing

    def log_message(self, format: str, *args: Any) -> None:
        # http.server reports malformed requests and timeouts here, on stderr by default
        log.debug("http: " + format, *args)


class ApiServer:
    """A listening socket and the threads serving it; ``port=0`` picks a free port."""

    def __init__(self, handler: Handler, host: str, port: int) -> None:
        self._server = _Server((host, port), handler)
        self._serving = threading.Event()

    @property
    def server_address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return (str(host), int(port))

    @property
    def url(self) -> str:
        host, port = self.server_address
        return f"http://{host}:{port}"

    def serve_forever(self) -> None:
        log.info("API listening on %s", self.url)
        self._serving.set()
        self._server.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        """Stop accepting and close the socket; open keep-alive threads die with the process."""
        # BaseServer.shutdown() waits for serve_forever() to stop, forever if it never ran
        if self._serving.is_set():
            self._server.shutdown()
        self._server.server_close()


@contextlib.contextmanager
def serve_in_thread(
    handler: Handler, host: str = "127.0.0.1", port: int = 0
) -> Iterator[ApiServer]:
    """Run an ``ApiServer`` in a background thread for the ``with`` block's duration."""
    server = ApiServer(handler, host, port)
    thread = threading.Thread(target=server.serve_forever, name="pgrealm-api", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=5)

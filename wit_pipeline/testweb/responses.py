"""How the server acts out each route: plain answers and the timed, broken or endless faults.

Every fault is bounded in time, gives up as soon as the client hangs up, and stops when the
server stops.
"""

from __future__ import annotations

import math
import select
import socket
import struct
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING

from .faults import error_page
from .routes import CONTENT_TYPES, Route

if TYPE_CHECKING:
    from .server import LoopbackServer

_CHUNK = 64 * 1024
_FAKE_JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


class Handler(BaseHTTPRequestHandler):
    """Routes GET requests through the synthetic web's route table."""

    protocol_version = "HTTP/1.1"
    server_version = "SyntheticWeb/1.0"
    timeout = 30
    server: LoopbackServer

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: tests and benchmarks hit thousands of URLs."""

    def do_GET(self) -> None:
        """Answer one GET by its route's kind."""
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if "://" in path:
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        route = self.server.web.route(path)
        if route is None:
            send_error(self, HTTPStatus.NOT_FOUND)
            return
        _ACTIONS.get(route.kind, send_route)(self, route)


def _write(handler: Handler, data: bytes) -> bool:
    try:
        handler.wfile.write(data)
        handler.wfile.flush()
    except OSError:
        handler.close_connection = True
        return False
    return True


def _client_gone(connection: socket.socket) -> bool:
    poller = select.poll()
    try:
        poller.register(connection, select.POLLIN)
        return bool(poller.poll(0)) and connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _wait(handler: Handler, seconds: float) -> bool:
    """Sleep `seconds`; False as soon as the client hangs up or the server stops."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if handler.server.stopping.wait(min(0.05, left)) or _client_gone(handler.connection):
            handler.close_connection = True
            return False
    return True


def _head(
    handler: Handler, status: int, headers: list[tuple[str, str]], close: bool = False
) -> bool:
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    if close:
        handler.send_header("Connection", "close")
        handler.close_connection = True
    try:
        handler.end_headers()
    except OSError:
        handler.close_connection = True
        return False
    return True


def send_error(
    handler: Handler, status: HTTPStatus, extra: tuple[tuple[str, str], ...] = ()
) -> None:
    """An error status with a small HTML body."""
    body = error_page(status.value, status.phrase)
    headers = [("Content-Type", CONTENT_TYPES["html"]), ("Content-Length", str(len(body)))]
    if _head(handler, status.value, [*headers, *extra]):
        _write(handler, body)


def send_route(handler: Handler, route: Route) -> None:
    """The route's status, headers and whole body, as any ordinary server would."""
    body = handler.server.web.body(route, handler.server.origin)
    headers = list(route.headers)
    if route.content_type:
        headers.append(("Content-Type", route.content_type))
    if route.location:
        prefix = handler.server.origin if route.absolute_location else ""
        headers.append(("Location", prefix + route.location))
    headers.append(("Content-Length", str(len(body))))
    if _head(handler, route.status, headers):
        _write(handler, body)


def _rate_limited(handler: Handler, route: Route) -> None:
    server = handler.server
    now = time.monotonic()
    with server.lock:
        until = server.blocked_until.setdefault(route.path, now + server.web.config.retry_after)
        if now >= until:
            del server.blocked_until[route.path]
    if now >= until:
        send_route(handler, route)
        return
    wait = max(1, math.ceil(until - now))
    send_error(handler, HTTPStatus.TOO_MANY_REQUESTS, (("Retry-After", str(wait)),))


def _slow_first_byte(handler: Handler, route: Route) -> None:
    if _wait(handler, handler.server.web.config.slow_seconds):
        send_route(handler, route)


def _drip(handler: Handler, route: Route) -> None:
    config = handler.server.web.config
    body = handler.server.web.body(route, handler.server.origin)
    headers = [("Content-Type", route.content_type or ""), ("Content-Length", str(len(body)))]
    if not _head(handler, 200, headers, close=True):
        return
    deadline = time.monotonic() + config.drip_seconds
    for offset in range(len(body) - 1):
        if not _write(handler, body[offset : offset + 1]):
            return
        if time.monotonic() + config.drip_interval > deadline:
            return
        if not _wait(handler, config.drip_interval):
            return


def _stream(handler: Handler, route: Route, chunked: bool) -> None:
    total = handler.server.web.config.huge_bytes
    length = ("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(total))
    if not _head(handler, 200, [("Content-Type", route.content_type or ""), length], close=True):
        return
    first, zeros = _FAKE_JPEG_HEAD + bytes(_CHUNK - len(_FAKE_JPEG_HEAD)), bytes(_CHUNK)
    sent = 0
    while sent < total and not handler.server.stopping.is_set():
        piece = (zeros if sent else first)[: total - sent]
        framed = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
        if not _write(handler, framed):
            return
        sent += len(piece)
    if chunked and sent >= total:
        _write(handler, b"0\r\n\r\n")


def _huge_body(handler: Handler, route: Route) -> None:
    _stream(handler, route, chunked=False)


def _huge_body_chunked(handler: Handler, route: Route) -> None:
    _stream(handler, route, chunked=True)


def _truncated(handler: Handler, route: Route) -> None:
    body = handler.server.web.body(route, handler.server.origin)
    headers = [("Content-Type", route.content_type or ""), ("Content-Length", str(len(body)))]
    if _head(handler, 200, headers, close=True):
        _write(handler, body[: len(body) // 2])


def _connection_reset(handler: Handler, route: Route) -> None:
    handler.close_connection = True
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()


_ACTIONS: dict[str, Callable[[Handler, Route], None]] = {
    "rate_limited": _rate_limited,
    "slow_first_byte": _slow_first_byte,
    "drip": _drip,
    "huge_body": _huge_body,
    "huge_body_chunked": _huge_body_chunked,
    "truncated": _truncated,
    "connection_reset": _connection_reset,
}

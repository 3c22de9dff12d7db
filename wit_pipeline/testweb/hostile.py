"""A hostile HTTP server on 127.0.0.1: one route per way a red team held, flooded or fooled
the downloader and the crawler (issue #17), so that a regression fails a test.

Raw sockets, so a route may break HTTP as it likes. Every route gives up as soon as the client
hangs up or the server stops, and none holds a connection longer than HOLD_SECONDS: a client
that waits for one has no deadline. The server counts what it was asked (with the Host each
request named) and how many connections it held at once.

Routes (GET):

    /chunked/size-line-drip.jpg   chunked, Connection: close; a chunk-size line that never ends
    /chunked/extension-drip.jpg   chunked, Connection: close; a chunk extension that never ends
    /chunked/trailer-flood.jpg    chunked, Connection: close; a trailer section that never ends
    /chunked/cut-size-line.jpg    chunked, keep-alive; the last chunk-size line cut short, held
    /bomb/palette.png             a 10 KB palette PNG with transparency, 9000x9000
    /bomb/rgba.png                a 314 KB RGBA PNG, 9000x9000
    /bomb/screen.gif              a 43-byte GIF whose screen is 9000x9000
    /tiff/planar16.tif            a 16-bit planar TIFF (OpenCV decodes it differently each time)
    /pages/cafe.html              <img src="../images/café au lait.jpg">, served percent-encoded
    /pages/index.html             links to the pages and to every chunked route
    /hop/N/NAME.jpg               a redirect to /hop/N+1/ on the next spelling of 127.0.0.1, an
                                  image after the last; each spelling is an origin of its own
    /robots.txt                   404, or with `robots_hops` a chain of slow redirects
    /slow/NAME.jpg                an image after `slow_seconds`
    /endless.csv                  a URL list that never ends
    /shards/stalled.tar           a shard's first sample, then nothing (the connection held)
    /shards/quote's.tar           a whole two-sample shard, at a URL with a quote in it
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType

from wit_pipeline.testweb import hostile_bodies

HOLD_SECONDS = 120.0
"""The longest any route keeps a connection: far beyond every client deadline under test."""
LOOPBACK_SPELLINGS = ("127.0.0.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.1", "127.0.1")
"""Six ways to write 127.0.0.1 in a URL: six origins, one host."""
CAFE_PATH = "/images/caf%C3%A9%20au%20lait.jpg"
"""Where a browser asks for `images/café au lait.jpg`."""
_MAX_REQUEST = 16384
_TICK = 0.05


@dataclass
class Exchange:
    """One request on one connection, and what a route may do with it."""

    sock: socket.socket
    target: str
    host: str
    server: HostileServer
    started: float = field(default_factory=time.monotonic)

    def send(self, data: bytes) -> bool:
        """Send all of `data`; False when the client is gone."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def wait(self, seconds: float) -> bool:
        """Sleep `seconds`; False as soon as the client hangs up, the server stops, or the
        route has held the connection for HOLD_SECONDS."""
        until = min(time.monotonic() + seconds, self.started + HOLD_SECONDS)
        while (left := until - time.monotonic()) > 0:
            if self.server.stopping.is_set():
                return False
            readable, _, _ = select.select([self.sock], [], [], min(_TICK, left))
            if readable:
                try:
                    if not self.sock.recv(4096, socket.MSG_PEEK):
                        return False
                except OSError:
                    return False
                self.sock.recv(4096)
        return time.monotonic() < self.started + HOLD_SECONDS

    def drip(self, pieces: Iterable[bytes], interval: float) -> None:
        """Send `pieces` one by one, `interval` seconds apart, until the client gives up."""
        for piece in pieces:
            if not self.send(piece) or not self.wait(interval):
                return

    def answer(self, status: str, headers: dict[str, str], body: bytes = b"") -> None:
        """A whole answer with Content-Length."""
        head = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items())]
        head += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
        self.send("\r\n".join(head).encode("latin-1") + body)


def _forever(first: bytes, then: bytes) -> Iterator[bytes]:
    """`first`, then `then` again and again."""
    yield first
    while True:
        yield then


_CHUNKED_CLOSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n"
    b"Connection: close\r\n\r\n"
)


def _size_line_drip(exchange: Exchange) -> None:
    exchange.drip(_forever(_CHUNKED_CLOSE + b"1", b"0"), 0.05)


def _extension_drip(exchange: Exchange) -> None:
    exchange.drip(_forever(_CHUNKED_CLOSE + b"5;", b"x"), 0.05)


def _trailer_flood(exchange: Exchange) -> None:
    start = _CHUNKED_CLOSE + b"5\r\nhello\r\n0\r\n"
    exchange.drip(_forever(start, b"X-Trailer: flood\r\n" * 100), 0.01)


def _cut_size_line(exchange: Exchange) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n"
    if exchange.send(head + b"0"):
        exchange.wait(HOLD_SECONDS)


_PAYLOADS = (
    hostile_bodies.palette_bomb_png,
    hostile_bodies.rgba_bomb_png,
    hostile_bodies.screen_bomb_gif,
)
"""Payloads made once per process (the RGBA bomb compresses 324 MB of zeros: a second), when
a server starts, so that no answer is late by accident."""


def _file(content_type: str, body: Callable[[], bytes]) -> Callable[[Exchange], None]:
    def route(exchange: Exchange) -> None:
        exchange.answer("200 OK", {"Content-Type": content_type}, body())

    return route


_CAFE_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Café</title></head>
<body><img src="../images/café au lait.jpg" alt="a bowl of coffee with hot milk">
<img src="../images/caf&#233;%20au lait.jpg" alt="the same bowl of coffee, half encoded">
</body></html>"""


def _index_page(exchange: Exchange) -> None:
    links = "".join(
        f'<a href="{path}">{path}</a>'
        for path in ("cafe.html", "more pages.html", *sorted(_CHUNKED_ROUTES))
    )
    body = f"<!DOCTYPE html><html><body>{links}</body></html>".encode()
    exchange.answer("200 OK", {"Content-Type": "text/html; charset=utf-8"}, body)


def _endless_csv(exchange: Exchange) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nConnection: close\r\n\r\nurl,caption\n"
    row = b"http://127.0.0.1/x.jpg,a red square on white\n" * 1000
    exchange.drip(_forever(head, row), 0.0)


def _hop(exchange: Exchange) -> None:
    _, _, index, name = exchange.target.split("/", 3)
    step = int(index) if index.isdigit() else 0
    if step + 1 >= len(LOOPBACK_SPELLINGS):
        exchange.answer("200 OK", {"Content-Type": "image/jpeg"}, hostile_bodies.jpeg())
        return
    port = exchange.server.port
    location = f"http://{LOOPBACK_SPELLINGS[step + 1]}:{port}/hop/{step + 1}/{name}"
    exchange.answer("302 Found", {"Location": location})


def _robots(exchange: Exchange) -> None:
    server = exchange.server
    step = int(exchange.target.rsplit("/", 1)[1]) if exchange.target != "/robots.txt" else 0
    if step >= server.robots_hops:
        exchange.answer("404 Not Found", {"Content-Type": "text/plain"})
        return
    if exchange.wait(server.robots_hop_seconds):
        exchange.answer("302 Found", {"Location": f"/robots-hop/{step + 1}"})


def _stalled_shard(exchange: Exchange) -> None:
    body = hostile_bodies.small_shard(2)
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    if exchange.send(head.encode("latin-1") + body[: len(body) // 2]):
        exchange.wait(HOLD_SECONDS)


def _slow(exchange: Exchange) -> None:
    if exchange.wait(exchange.server.slow_seconds):
        exchange.answer("200 OK", {"Content-Type": "image/jpeg"}, hostile_bodies.jpeg())


_CHUNKED_ROUTES: dict[str, Callable[[Exchange], None]] = {
    "/chunked/size-line-drip.jpg": _size_line_drip,
    "/chunked/extension-drip.jpg": _extension_drip,
    "/chunked/trailer-flood.jpg": _trailer_flood,
    "/chunked/cut-size-line.jpg": _cut_size_line,
}
ROUTES: dict[str, Callable[[Exchange], None]] = {
    **_CHUNKED_ROUTES,
    "/bomb/palette.png": _file("image/png", hostile_bodies.palette_bomb_png),
    "/bomb/rgba.png": _file("image/png", hostile_bodies.rgba_bomb_png),
    "/bomb/screen.gif": _file("image/gif", hostile_bodies.screen_bomb_gif),
    "/tiff/planar16.tif": _file("image/tiff", hostile_bodies.planar_tiff16),
    CAFE_PATH: _file("image/jpeg", hostile_bodies.jpeg),
    "/pages/cafe.html": _file("text/html; charset=utf-8", lambda: _CAFE_PAGE.encode()),
    "/pages/more%20pages.html": _file("text/html", lambda: b"<p>more</p>"),
    "/pages/index.html": _index_page,
    "/endless.csv": _endless_csv,
    "/shards/stalled.tar": _stalled_shard,
    "/shards/quote%27s.tar": _file("application/x-tar", hostile_bodies.small_shard),
    "/shards/quote's.tar": _file("application/x-tar", hostile_bodies.small_shard),
    "/robots.txt": _robots,
}
PREFIX_ROUTES: dict[str, Callable[[Exchange], None]] = {
    "/hop/": _hop,
    "/robots-hop/": _robots,
    "/slow/": _slow,
}


def _route(target: str) -> Callable[[Exchange], None] | None:
    path = target.split("?", 1)[0]
    if path in ROUTES:
        return ROUTES[path]
    return next((r for prefix, r in PREFIX_ROUTES.items() if path.startswith(prefix)), None)


class HostileServer:
    """Serves ROUTES on 127.0.0.1 (a free port) from background threads."""

    def __init__(
        self, robots_hops: int = 0, robots_hop_seconds: float = 0.0, slow_seconds: float = 0.3
    ) -> None:
        self.robots_hops, self.robots_hop_seconds = robots_hops, robots_hop_seconds
        self.slow_seconds = slow_seconds
        self.stopping = threading.Event()
        self.requests: list[tuple[str, str]] = []
        self.active = self.peak = 0
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        if self._listener is None:
            raise RuntimeError("HostileServer is not running")
        return self._listener.getsockname()[1]

    def url(self, path: str, spelling: str = LOOPBACK_SPELLINGS[0]) -> str:
        """The URL of `path` on this server, its host written as `spelling`."""
        return f"http://{spelling}:{self.port}{path}"

    def targets(self) -> list[str]:
        """The request targets asked for so far, in order."""
        with self._lock:
            return [target for _, target in self.requests]

    def start(self) -> HostileServer:
        """Bind and start serving; returns self."""
        for payload in _PAYLOADS:
            payload()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._thread = threading.Thread(target=self._accept, name="hostile-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut every open connection."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            open_now = list(self._connections)
        for connection in open_now:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept(self) -> None:
        assert self._listener is not None
        self._listener.settimeout(_TICK)
        while not self.stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(None)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            request = self._read_request(connection)
            if request is None:
                return
            target, host = request
            with self._lock:
                self.requests.append((host, target))
            route = _route(target)
            exchange = Exchange(connection, target, host, self)
            if route is None:
                exchange.answer("404 Not Found", {"Content-Type": "text/plain"}, b"not here")
            else:
                route(exchange)
        finally:
            with self._lock:
                self._connections.discard(connection)
                self.active -= 1
            connection.close()

    @staticmethod
    def _read_request(connection: socket.socket) -> tuple[str, str] | None:
        """(request target, Host) of the request head, or None for a client that sends none."""
        connection.settimeout(HOLD_SECONDS)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < _MAX_REQUEST:
                piece = connection.recv(4096)
                if not piece:
                    return None
                data += piece
        except OSError:
            return None
        lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return None
        host = next(
            (
                v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:])
                if k.lower() == "host"
            ),
            "",
        )
        return parts[1], host

"""Small loopback HTTP servers with answers the test chooses: a redirector, a "secret" internal
service that must never be reached, a slow image host. Each counts what it was asked and how
many requests it served at once."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image


@dataclass(frozen=True)
class Answer:
    """What one path answers: status, headers, body, after `delay` seconds."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    delay: float = 0.0


def redirect(location: str) -> Answer:
    """A 302 to `location`."""
    return Answer(302, (("Location", location),))


def html(text: str) -> Answer:
    """A 200 HTML page."""
    return Answer(200, (("Content-Type", "text/html"),), text.encode())


def jpeg(size: int = 32, delay: float = 0.0) -> Answer:
    """A 200 JPEG of `size` pixels square, after `delay` seconds."""
    out = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(out, format="JPEG")
    return Answer(200, (("Content-Type", "image/jpeg"),), out.getvalue(), delay)


@dataclass
class Site:
    """The state of one server: its answers (by path, '*' for any) and what it saw."""

    answers: dict[str, Answer]
    origin: str = ""
    requests: list[str] = field(default_factory=list)
    active: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str) -> Answer:
        return self.answers.get(path) or self.answers.get("*") or Answer(404)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            with site.lock:
                site.requests.append(self.path)
                site.active += 1
                site.peak = max(site.peak, site.active)
            try:
                answer = site.answer(self.path)
                time.sleep(answer.delay)
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            finally:
                with site.lock:
                    site.active -= 1

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serving(answers: dict[str, Answer], host: str = "127.0.0.1") -> Iterator[Site]:
    """Serve `answers` on `host` (a free port) for the block; yields the site's record."""
    site = Site(answers)
    server = ThreadingHTTPServer((host, 0), _handler(site))
    server.daemon_threads = True
    site.origin = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

"""The one HTTP client of the crawler and the downloader: it cannot hang and cannot be pointed
inwards.

Every attempt has one overall deadline (connect, headers and body together, so a server that
drips bytes is cut off), the body is capped (Content-Length checked first, then while reading;
over the cap it fails, or is cut there for pages), every hop of a redirect chain is limited and
checked by the address guard before any connection, each host has a concurrency cap, 429/503
answers are retried after their Retry-After (bounded), other transient failures after a bounded
exponential backoff, and X-Robots-Tag and robots.txt are honoured.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import itertools
import random
import socket
import ssl
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from wit_pipeline.net.guard import BlockedAddress, Resolver, resolve
from wit_pipeline.net.robots import ROBOTS_TOKEN, USER_AGENT, RobotsCache

REDIRECTS = (301, 302, 303, 307, 308)
TRANSIENT_CODES = frozenset(
    {
        "timeout",
        "connection_error",
        "dns_error",
        "http_429",
        "http_500",
        "http_502",
        "http_503",
        "http_504",
        "truncated",
    }
)
DISALLOWED_ROBOTS_DIRECTIVES = ("noai", "noimageai", "noindex", "noimageindex", "none")
VALUED_ROBOTS_DIRECTIVES = (
    "max-image-preview",
    "max-snippet",
    "max-video-preview",
    "unavailable_after",
    "indexifembedded",
)
_CHUNK = 65536
IMAGE_ACCEPT = "image/*,*/*;q=0.5"
HTML_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
WATCHDOG_IDLE_SECONDS = 1.0


@dataclass(frozen=True)
class FetchOptions:
    """Limits of every request."""

    timeout: float = 10.0
    retries: int = 2
    max_bytes: int = 25_000_000
    max_redirects: int = 5
    max_per_host: int = 16
    max_retry_after: float = 30.0
    backoff: float = 0.5
    respect_robots: bool = True
    respect_x_robots_tag: bool = True
    allow_private_networks: bool = False
    allowed_addresses: frozenset[str] = frozenset()
    resolver: Resolver | None = None
    cut_oversize: bool = False
    accept: str = IMAGE_ACCEPT
    user_agent: str = USER_AGENT


@dataclass
class FetchResult:
    """The body of a successful fetch (and the URL it came from after redirects; `cut` when it
    was cut at max_bytes), or a stable error code and a message."""

    url: str
    body: bytes | None = None
    error_code: str | None = None
    error_message: str | None = None
    status: int | None = None
    content_type: str = ""
    attempts: int = 0
    final_url: str = ""
    cut: bool = False

    @property
    def ok(self) -> bool:
        return self.body is not None


@dataclass
class _Answer:
    """The 200 answer of one attempt."""

    status: int
    content_type: str
    body: bytes
    url: str = ""
    cut: bool = False


class _Failure(Exception):
    """One attempt failed: a stable code, a message, and a Retry-After in seconds if given."""

    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code, self.retry_after = code, retry_after


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to an address checked by the guard, whatever DNS says at connect time."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """HTTPS to a checked address, with certificate checks against the host name."""

    _context = ssl.create_default_context()

    def connect(self) -> None:
        super().connect()
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def x_robots_forbids(values: list[str], token: str = ROBOTS_TOKEN) -> str | None:
    """The disallowed directive in X-Robots-Tag headers that applies to us, or None.

    A header is `directive, directive` for every agent, or `agent: directive, ...` for one;
    `name: value` directives (max-image-preview, unavailable_after, ...) are not agents.
    `none` means noindex and nofollow.
    """
    for value in values:
        scope, colon, rest = value.partition(":")
        agent = scope.strip().lower()
        known = DISALLOWED_ROBOTS_DIRECTIVES + VALUED_ROBOTS_DIRECTIVES
        if colon and "," not in scope and agent not in known:
            if agent not in (token, "*"):
                continue
            value = rest
        for item in value.split(","):
            name = item.split(":", 1)[0].strip().lower()
            if name in DISALLOWED_ROBOTS_DIRECTIVES:
                return name
    return None


def _cut(connection: http.client.HTTPConnection) -> None:
    """The deadline passed: shut the socket, so whatever read is blocked on it returns now.

    Socket timeouts alone do not bound a request: http.client reads headers and chunk sizes
    line by line, and each read would get the full timeout again from a dripping server.
    """
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One thread per process that cuts connections whose deadline passed (a timer thread per
    request would cost about 0.25 ms of CPU each); it ends after a second with nothing to
    watch, so no thread outlives the work."""

    def __init__(self) -> None:
        self._armed: list[tuple[float, int, http.client.HTTPConnection]] = []
        self._live: set[int] = set()
        self._condition = threading.Condition()
        self._tickets = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, connection: http.client.HTTPConnection, deadline: float) -> int:
        """Watch `connection` until `deadline` (monotonic); returns the ticket to disarm."""
        with self._condition:
            ticket = next(self._tickets)
            heapq.heappush(self._armed, (deadline, ticket, connection))
            self._live.add(ticket)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="fetch-watchdog", daemon=True
                )
                self._thread.start()
            self._condition.notify()
            return ticket

    def disarm(self, ticket: int) -> None:
        """The request ended in time: forget it."""
        with self._condition:
            self._live.discard(ticket)

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._armed and self._armed[0][1] not in self._live:
                    heapq.heappop(self._armed)
                if not self._armed:
                    if not self._condition.wait(WATCHDOG_IDLE_SECONDS) and not self._armed:
                        self._thread = None
                        return
                    continue
                deadline, ticket, connection = self._armed[0]
                left = deadline - time.monotonic()
                if left > 0:
                    self._condition.wait(left)
                    continue
                heapq.heappop(self._armed)
                self._live.discard(ticket)
            _cut(connection)


_WATCHDOG = _Watchdog()


def _failure_of(exc: Exception) -> _Failure:
    """The stable error code of an exception raised by one HTTP exchange."""
    if isinstance(exc, http.client.IncompleteRead):
        return _Failure("truncated", f"body ended early ({len(exc.partial)} bytes)")
    if isinstance(exc, ssl.SSLError):
        return _Failure("tls_error", str(exc))
    return _Failure("connection_error", f"{type(exc).__name__}: {exc}")


class Fetcher:
    """Fetches URLs for one worker process; share it between that process's threads."""

    def __init__(self, options: FetchOptions) -> None:
        self.options = options
        self._host_slots: dict[str, threading.BoundedSemaphore] = defaultdict(
            lambda: threading.BoundedSemaphore(options.max_per_host)
        )
        self._slots_lock = threading.Lock()
        self.robots = RobotsCache(self._fetch_robots_txt)

    def _slot(self, host: str) -> threading.BoundedSemaphore:
        with self._slots_lock:
            return self._host_slots[host]

    def fetch(self, url: str) -> FetchResult:
        """GET `url` with retries; never raises for anything the network or server does."""
        result = FetchResult(url=url)
        for attempt in range(self.options.retries + 1):
            result.attempts = attempt + 1
            try:
                answer = self._follow(url)
            except _Failure as failure:
                result.error_code, result.error_message = failure.code, str(failure)
                if failure.code not in TRANSIENT_CODES or attempt == self.options.retries:
                    return result
                wait = failure.retry_after
                if wait is None:
                    wait = self.options.backoff * (2**attempt) * (0.5 + random.random())
                elif wait > self.options.max_retry_after:
                    result.error_message += f" (Retry-After {wait:g} s is over the limit)"
                    return result
                time.sleep(wait)
                continue
            result.body, result.status, result.content_type = (
                answer.body,
                answer.status,
                answer.content_type,
            )
            result.final_url, result.cut = answer.url, answer.cut
            result.error_code = result.error_message = None
            return result
        return result

    def _follow(self, url: str, robots_check: bool = True) -> _Answer:
        """One attempt: follow redirects up to the limit, checking every hop."""
        for _ in range(self.options.max_redirects + 1):
            outcome = self._request(url, robots_check)
            if isinstance(outcome, str):
                url = outcome
                continue
            outcome.url = url
            return outcome
        raise _Failure("too_many_redirects", f"more than {self.options.max_redirects} redirects")

    def _request(self, url: str, robots_check: bool = True) -> _Answer | str:
        """One HTTP exchange: the answer of a 200, or the next URL of a redirect. The address
        guard comes first: a refused host is neither asked for robots.txt nor connected to."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _Failure("invalid_url", f"not an http(s) URL: {url[:200]!r}")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise _Failure("invalid_url", str(exc)) from exc
        try:
            address = resolve(
                parts.hostname,
                port,
                self.options.allow_private_networks,
                self.options.resolver,
                self.options.allowed_addresses,
            )
        except BlockedAddress as exc:
            raise _Failure("ssrf_blocked", str(exc)) from exc
        except (OSError, UnicodeError) as exc:
            raise _Failure("dns_error", f"{parts.hostname}: {exc}") from exc
        if robots_check and self.options.respect_robots and not self.robots.allowed(url):
            raise _Failure("robots", "disallowed by robots.txt")
        connection_class = (
            _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        )
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        with self._slot(parts.netloc):
            deadline = time.monotonic() + self.options.timeout
            connection = connection_class(parts.hostname, port, address, self.options.timeout)
            ticket = _WATCHDOG.arm(connection, deadline)
            try:
                return self._exchange(connection, url, path, deadline)
            except _Failure:
                raise
            except Exception as exc:
                if time.monotonic() >= deadline or isinstance(exc, TimeoutError):
                    raise _Failure(
                        "timeout", f"no complete answer within {self.options.timeout:g} s"
                    ) from exc
                raise _failure_of(exc) from exc
            finally:
                _WATCHDOG.disarm(ticket)
                connection.close()

    def _exchange(
        self, connection: http.client.HTTPConnection, url: str, path: str, deadline: float
    ) -> _Answer | str:
        headers = {
            "User-Agent": self.options.user_agent,
            "Accept": self.options.accept,
            "Accept-Encoding": "identity",
        }
        connection.request("GET", path, headers=headers)
        self._tighten(connection, deadline)
        response = connection.getresponse()
        status = response.status
        if status in REDIRECTS:
            location = response.getheader("Location")
            if not location:
                raise _Failure(f"http_{status}", "redirect without Location")
            return urljoin(url, location)
        if status != 200:
            retry_after = _retry_after(response.getheader("Retry-After"))
            raise _Failure(f"http_{status}", f"HTTP {status} {response.reason}", retry_after)
        if self.options.respect_x_robots_tag:
            directive = x_robots_forbids(response.headers.get_all("X-Robots-Tag") or [])
            if directive:
                raise _Failure("x_robots_tag", f"X-Robots-Tag: {directive}")
        limit, cut = self.options.max_bytes, self.options.cut_oversize
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > limit and not cut:
            raise _Failure("too_large", f"Content-Length {length} over {limit}")
        chunks, size = [], 0
        while size <= limit:
            self._tighten(connection, deadline)
            chunk = response.read1(min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            size += len(chunk)
            chunks.append(chunk)
        if size > limit and not cut:
            raise _Failure("too_large", f"body over {limit} bytes")
        if size <= limit and length and length.isdigit() and size < int(length):
            raise _Failure("truncated", f"body ended at {size} of {length} bytes")
        body = b"".join(chunks)
        content_type = response.getheader("Content-Type") or ""
        return _Answer(status, content_type, body[:limit], cut=size > limit)

    @staticmethod
    def _tighten(connection: http.client.HTTPConnection, deadline: float) -> None:
        """Shrink the socket timeout to what is left of the deadline (TimeoutError when none)."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        if connection.sock is not None:
            connection.sock.settimeout(left)

    def _fetch_robots_txt(self, url: str) -> tuple[int, bytes]:
        """robots.txt through redirects (RFC 9309 asks to follow at least five)."""
        try:
            answer = self._follow(url, robots_check=False)
        except _Failure as failure:
            return (int(failure.code[5:]) if failure.code.startswith("http_") else 0), b""
        return answer.status, answer.body

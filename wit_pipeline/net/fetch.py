"""The one HTTP client of the crawler and the downloader: it cannot hang and cannot be pointed
inwards.

Every attempt has one deadline, from its first connection over every redirect hop and every
robots.txt fetch it makes (connect, TLS, headers and bodies together, so a server that drips
bytes or chains slow hops is cut off); the sockets are ours and every read on them gets only
what is left of it (http1.py). The body is capped (Content-Length checked first, then while
reading; over the cap it fails, or is cut there for pages), every hop of a redirect chain is
limited and checked by the address guard before any connection, each host (by address, however
spelt) has a concurrency cap, 429/503 answers are retried after their Retry-After (bounded),
other transient failures after a bounded exponential backoff, and X-Robots-Tag and robots.txt
are honoured. URLs are requested percent-encoded, as a browser does (url.py).
"""

from __future__ import annotations

import random
import socket
import ssl
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

from wit_pipeline.net import http1
from wit_pipeline.net.guard import BlockedAddress, Resolver, host_key, resolve
from wit_pipeline.net.robots import ROBOTS_TOKEN, USER_AGENT, RobotsCache
from wit_pipeline.net.url import InvalidURL, join_url, normalise_url

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
IMAGE_ACCEPT = "image/*,*/*;q=0.5"
HTML_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
_TLS_CONTEXT = ssl.create_default_context()


@dataclass(frozen=True)
class FetchOptions:
    """Limits of every request. `timeout` is one deadline per attempt (over its redirect hops
    and robots.txt fetches); `max_per_host` counts connections per address."""

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
    user_agent_token: str | None = None
    """Another name X-Robots-Tag directives may address us by (img2dataset's
    user_agent_token): added to the User-Agent and honoured besides our own."""
    disallowed_header_directives: tuple[str, ...] = DISALLOWED_ROBOTS_DIRECTIVES
    """X-Robots-Tag directives that refuse an image (img2dataset's, plus `none`)."""

    @property
    def agent(self) -> str:
        """The User-Agent header: ours, with the token when one is given."""
        token = self.user_agent_token
        return f"{self.user_agent} (compatible; {token})" if token else self.user_agent


@dataclass
class FetchResult:
    """The body of a successful fetch (and the URL it came from after redirects, its size;
    `cut` when it was cut at max_bytes), or a stable error code and a message."""

    url: str
    body: bytes | None = None
    error_code: str | None = None
    error_message: str | None = None
    status: int | None = None
    content_type: str = ""
    attempts: int = 0
    final_url: str = ""
    cut: bool = False
    size: int = 0

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
    size: int = 0


class LocalWriteError(Exception):
    """Writing a body into the caller's file failed (a full disk): not the network's doing,
    so fetch raises it rather than calling it a connection error."""


class _Failure(Exception):
    """One attempt failed: a stable code, a message, and a Retry-After in seconds if given."""

    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code, self.retry_after = code, retry_after


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def x_robots_forbids(
    values: list[str],
    tokens: tuple[str, ...] = (ROBOTS_TOKEN,),
    disallowed: tuple[str, ...] = DISALLOWED_ROBOTS_DIRECTIVES,
) -> str | None:
    """The `disallowed` directive in X-Robots-Tag headers that applies to us (to every agent,
    or to one of `tokens`), or None.

    A header is `directive, directive` for every agent, or `agent: directive, ...` for one;
    `name: value` directives (max-image-preview, unavailable_after, ...) are not agents.
    `none` means noindex and nofollow.
    """
    for value in values:
        scope, colon, rest = value.partition(":")
        agent = scope.strip().lower()
        known = DISALLOWED_ROBOTS_DIRECTIVES + VALUED_ROBOTS_DIRECTIVES
        if colon and "," not in scope and agent not in known:
            if agent not in (*tokens, "*"):
                continue
            value = rest
        for item in value.split(","):
            name = item.split(":", 1)[0].strip().lower()
            if name in disallowed:
                return name
    return None


class _Clock:
    """The deadline of one attempt: `seconds` from its first connection, over every redirect
    hop and every robots.txt fetch it makes. Waiting for a free slot of the first host does
    not count (that wait is our own throttle, not the server's); later waits do."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline: float | None = None

    def start(self) -> float:
        """Start the clock if it is not running; the deadline (time.monotonic)."""
        if self.deadline is None:
            self.deadline = time.monotonic() + self.seconds
        return self.deadline

    def left(self) -> float | None:
        """Seconds left, or None before the first connection."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def passed(self) -> bool:
        """Whether the deadline has passed."""
        left = self.left()
        return left is not None and left <= 0


def _failure_of(exc: Exception, clock: _Clock) -> _Failure:
    """The stable error code of an exception raised by one HTTP exchange."""
    if clock.passed() or isinstance(exc, TimeoutError):
        return _Failure("timeout", f"no complete answer within {clock.seconds:g} s")
    if isinstance(exc, http1.Truncated):
        return _Failure("truncated", str(exc))
    if isinstance(exc, ssl.SSLError):
        return _Failure("tls_error", str(exc))
    return _Failure("connection_error", f"{type(exc).__name__}: {exc}")


def _location(value: str) -> str:
    """A Location header as the server meant it: its bytes read as UTF-8 (browsers do), else
    as Latin-1."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


class Fetcher:
    """Fetches URLs for one worker process; share it between that process's threads."""

    def __init__(self, options: FetchOptions) -> None:
        self.options = options
        self._host_slots: dict[str, threading.BoundedSemaphore] = defaultdict(
            lambda: threading.BoundedSemaphore(options.max_per_host)
        )
        self._slots_lock = threading.Lock()
        self.robots = RobotsCache()

    def _slot(self, address: str) -> threading.BoundedSemaphore:
        """The concurrency slots of the host at `address` (however its name was spelt)."""
        with self._slots_lock:
            return self._host_slots[host_key(address)]

    def fetch(self, url: str, into: BinaryIO | None = None) -> FetchResult:
        """GET `url` with retries; never raises for anything the network or server does.

        The URL is requested as a browser would (percent-encoded, see wit_pipeline.net.url).
        With `into`, the body is written there (rewound for each attempt) instead of being
        returned, so a large one never sits in memory; `body` is then empty and `size` tells.
        A failed write to `into` raises LocalWriteError.
        """
        result = FetchResult(url=url)
        try:
            target = normalise_url(url)
        except InvalidURL as exc:
            result.attempts, result.error_code, result.error_message = 1, "invalid_url", str(exc)
            return result
        for attempt in range(self.options.retries + 1):
            result.attempts = attempt + 1
            if into is not None:
                into.seek(0)
                into.truncate()
            try:
                answer = self._follow(target, _Clock(self.options.timeout), into)
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
            result.final_url, result.cut, result.size = answer.url, answer.cut, answer.size
            result.error_code = result.error_message = None
            return result
        return result

    def _follow(
        self, url: str, clock: _Clock, into: BinaryIO | None = None, robots_check: bool = True
    ) -> _Answer:
        """One attempt: follow redirects up to the limit, checking every hop, all within the
        attempt's one deadline."""
        for _ in range(self.options.max_redirects + 1):
            outcome = self._request(url, clock, into, robots_check)
            if isinstance(outcome, str):
                url = outcome
                continue
            outcome.url = url
            return outcome
        raise _Failure("too_many_redirects", f"more than {self.options.max_redirects} redirects")

    def _address(self, host: str, port: int) -> str:
        """The checked address to connect to (the guard first: a refused host is neither asked
        for robots.txt nor connected to)."""
        try:
            return resolve(
                host,
                port,
                self.options.allow_private_networks,
                self.options.resolver,
                self.options.allowed_addresses,
            )
        except BlockedAddress as exc:
            raise _Failure("ssrf_blocked", str(exc)) from exc
        except (OSError, UnicodeError) as exc:
            raise _Failure("dns_error", f"{host}: {exc}") from exc

    def _check_robots(self, url: str, clock: _Clock) -> None:
        """robots.txt of the URL's origin, read within the attempt's deadline."""

        def fetch(robots_url: str) -> tuple[int, bytes]:
            return self._fetch_robots_txt(robots_url, clock)

        try:
            allowed = self.robots.allowed(url, fetch, clock.left())
        except TimeoutError as exc:
            raise _Failure(
                "timeout", f"robots.txt not read within {self.options.timeout:g} s"
            ) from exc
        if not allowed:
            raise _Failure("robots", "disallowed by robots.txt")

    def _request(
        self, url: str, clock: _Clock, into: BinaryIO | None, robots_check: bool
    ) -> _Answer | str:
        """One HTTP exchange: the answer of a 200, or the next URL of a redirect."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _Failure("invalid_url", f"not an http(s) URL: {url[:200]!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = self._address(parts.hostname, port)
        if robots_check and self.options.respect_robots:
            self._check_robots(url, clock)
        slot = self._slot(address)
        left = clock.left()
        if not slot.acquire(timeout=None if left is None else max(0.0, left)):
            raise _Failure("timeout", f"no free connection to {parts.hostname} in time")
        try:
            clock.start()
            sock = self._connect(parts.scheme, parts.hostname, address, port, clock)
            try:
                return self._exchange(sock, url, clock, into)
            finally:
                sock.close()
        except _Failure:
            raise
        except (OSError, http1.ProtocolError, http1.Truncated) as exc:
            raise _failure_of(exc, clock) from exc
        finally:
            slot.release()

    @staticmethod
    def _connect(scheme: str, host: str, address: str, port: int, clock: _Clock) -> socket.socket:
        """A connection to the checked address (TLS checked against the host name), opened
        within the deadline; the socket is ours, so the deadline reaches every read on it."""
        sock = socket.create_connection((address, port), timeout=_left(clock))
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                sock.settimeout(_left(clock))
                sock = _TLS_CONTEXT.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        return sock

    def _exchange(
        self, sock: socket.socket, url: str, clock: _Clock, into: BinaryIO | None
    ) -> _Answer | str:
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {
            "User-Agent": self.options.agent,
            "Accept": self.options.accept,
            "Accept-Encoding": "identity",
        }
        request = http1.request_bytes(target, parts.netloc.rpartition("@")[2], headers)
        sock.settimeout(_left(clock))
        sock.sendall(request)
        stream = http1.DeadlineStream(sock, clock.start())
        head = http1.read_head(stream)
        status = head.status
        if status in REDIRECTS:
            location = head.get("location")
            if not location:
                raise _Failure(f"http_{status}", "redirect without Location")
            try:
                return join_url(url, _location(location))
            except InvalidURL as exc:
                raise _Failure("invalid_url", f"redirect to a bad URL: {exc}") from exc
        if status != 200:
            retry_after = _retry_after(head.get("retry-after"))
            raise _Failure(f"http_{status}", f"HTTP {status} {head.reason}", retry_after)
        if self.options.respect_x_robots_tag:
            options = self.options
            tokens = (
                ROBOTS_TOKEN,
                *([options.user_agent_token.lower()] if options.user_agent_token else []),
            )
            directive = x_robots_forbids(
                head.get_all("x-robots-tag"), tokens, options.disallowed_header_directives
            )
            if directive:
                raise _Failure("x_robots_tag", f"X-Robots-Tag: {directive}")
        limit, cut = self.options.max_bytes, self.options.cut_oversize
        length = http1.declared_length(head)
        if length is not None and length > limit and not cut:
            raise _Failure("too_large", f"Content-Length {length} over {limit}")
        chunks: list[bytes] = []
        write = chunks.append if into is None else _writer(into)
        size = 0
        for piece in http1.body_pieces(stream, head):
            if size + len(piece) > limit:
                if not cut:
                    raise _Failure("too_large", f"body over {limit} bytes")
                write(piece[: limit - size])
                size = limit
                break
            write(piece)
            size += len(piece)
        else:
            cut = False
        content_type = head.get("content-type") or ""
        return _Answer(status, content_type, b"".join(chunks), cut=cut, size=size)

    def _fetch_robots_txt(self, url: str, clock: _Clock) -> tuple[int, bytes]:
        """robots.txt through redirects (RFC 9309 asks to follow at least five), within the
        deadline of the attempt that needs it (TimeoutError when it runs out)."""
        try:
            answer = self._follow(url, clock, robots_check=False)
        except _Failure as failure:
            if failure.code == "timeout":
                raise TimeoutError(str(failure)) from failure
            return (int(failure.code[5:]) if failure.code.startswith("http_") else 0), b""
        return answer.status, answer.body


def _writer(into: BinaryIO) -> Callable[[bytes], object]:
    """`into.write`, its OSErrors raised as LocalWriteError."""

    def write(data: bytes) -> object:
        try:
            return into.write(data)
        except OSError as exc:
            raise LocalWriteError(str(exc)) from exc

    return write


def _left(clock: _Clock) -> float:
    """Seconds left of a running clock; TimeoutError when none are."""
    left = clock.left()
    if left is None or left <= 0:
        raise TimeoutError("deadline passed")
    return left

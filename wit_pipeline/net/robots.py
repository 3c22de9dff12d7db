"""robots.txt per origin, fetched once and cached; a missing or broken file allows everything.

The fetch is the caller's, so it runs under the caller's deadline: a robots.txt that does not
arrive in time (or that another thread is still fetching when the caller's time is up) raises
TimeoutError, caches nothing, and the next URL of that origin asks again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from wit_pipeline import __version__

USER_AGENT = f"wit-pipeline/{__version__} (+https://github.com/wit-pipeline/wit-pipeline)"
ROBOTS_TOKEN = "wit-pipeline"

FetchText = Callable[[str], tuple[int, bytes]]
"""GET a URL and return (HTTP status, body); raise TimeoutError when out of time, OSError or
ValueError on another failed fetch."""


class RobotsCache:
    """Answers 'may this URL be fetched?' from each origin's robots.txt (thread-safe)."""

    def __init__(self, token: str = ROBOTS_TOKEN) -> None:
        self._token = token
        self._parsers: dict[str, RobotFileParser] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def allowed(self, url: str, fetch: FetchText, wait: float | None = None) -> bool:
        """Whether robots.txt of the URL's origin lets our token fetch it, reading it with
        `fetch` the first time; waits at most `wait` seconds (None: without limit) for another
        thread fetching the same file, else TimeoutError."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._guard:
            lock = self._locks.setdefault(origin, threading.Lock())
        if not lock.acquire(timeout=-1 if wait is None else max(0.0, wait)):
            raise TimeoutError(f"{origin}/robots.txt is still being fetched")
        try:
            if origin not in self._parsers:
                self._parsers[origin] = self._load(origin, fetch)
        finally:
            lock.release()
        return self._parsers[origin].can_fetch(self._token, url)

    @staticmethod
    def _load(origin: str, fetch: FetchText) -> RobotFileParser:
        parser = RobotFileParser()
        try:
            status, body = fetch(origin + "/robots.txt")
        except TimeoutError:
            raise
        except (OSError, ValueError):
            status, body = 0, b""
        lines = body.decode("utf-8", "replace").splitlines() if status == 200 else []
        if status in (401, 403):
            lines = ["User-agent: *", "Disallow: /"]
        parser.parse(lines)
        return parser

"""robots.txt per origin, fetched once and cached; a missing or broken file allows everything."""

from __future__ import annotations

import threading
from collections.abc import Callable
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from wit_pipeline import __version__

USER_AGENT = f"wit-pipeline/{__version__} (+https://github.com/wit-pipeline/wit-pipeline)"
ROBOTS_TOKEN = "wit-pipeline"

FetchText = Callable[[str], tuple[int, bytes]]
"""GET a URL and return (HTTP status, body); raise OSError/ValueError on a failed fetch."""


class RobotsCache:
    """Answers 'may this URL be fetched?' from each origin's robots.txt (thread-safe)."""

    def __init__(self, fetch: FetchText, token: str = ROBOTS_TOKEN) -> None:
        self._fetch, self._token = fetch, token
        self._parsers: dict[str, RobotFileParser] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def allowed(self, url: str) -> bool:
        """Whether robots.txt of the URL's origin lets our token fetch it."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._guard:
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:
            if origin not in self._parsers:
                self._parsers[origin] = self._load(origin)
        return self._parsers[origin].can_fetch(self._token, url)

    def _load(self, origin: str) -> RobotFileParser:
        parser = RobotFileParser()
        try:
            status, body = self._fetch(origin + "/robots.txt")
        except (OSError, ValueError):
            status, body = 0, b""
        lines = body.decode("utf-8", "replace").splitlines() if status == 200 else []
        if status in (401, 403):
            lines = ["User-agent: *", "Disallow: /"]
        parser.parse(lines)
        return parser

"""Fetch every URL of a served synthetic web and compare each answer with the ground truth.

Each fault is checked with a short client timeout, so a whole check takes a few seconds.
"""

from __future__ import annotations

import http.client
import io
import struct
import time
import urllib.error
import urllib.request
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

from .faults import STATUS_FAULTS
from .web import SyntheticWeb

_Row = dict[str, object]


@dataclass
class CheckResult:
    """What a check found: how many URLs it fetched, and one line per disagreement."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every URL answered as the ground truth says."""
        return not self.problems

    def summary_line(self) -> str:
        """One line for humans."""
        verdict = "all as expected" if self.ok else f"{len(self.problems)} problems"
        return f"checked {self.checked} URLs in {self.seconds:.1f} s: {verdict}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _open(url: str, timeout: float, follow: bool = True) -> http.client.HTTPResponse:
    if follow:
        return urllib.request.urlopen(url, timeout=timeout)
    return urllib.request.build_opener(_NoRedirect).open(url, timeout=timeout)


def _expect_image(row: _Row, body: bytes) -> str | None:
    try:
        with Image.open(io.BytesIO(body)) as image:
            image.load()
            found = (image.format.lower(), image.width, image.height, image.mode)
    except Exception as exc:
        return f"does not decode ({type(exc).__name__})"
    wanted = (row["format"], row["width"], row["height"], row["mode"])
    return None if found == wanted else f"decoded as {found}, expected {wanted}"


def _check_image(row: _Row, web: SyntheticWeb) -> str | None:
    with _open(str(row["url"]), timeout=5) as response:
        body = response.read()
        if response.status != 200:
            return f"status {response.status}, expected 200"
        if row["kind"] == "redirect_ok" and not response.url.endswith(str(row["final_path"])):
            return f"redirects end at {response.url}, expected {row['final_path']}"
        if row["kind"] in ("noai", "noimageai") and response.headers["X-Robots-Tag"] != row["kind"]:
            return f"X-Robots-Tag is {response.headers['X-Robots-Tag']!r}"
    return _expect_image(row, body)


def _check_status(row: _Row, web: SyntheticWeb) -> str | None:
    try:
        with _open(str(row["url"]), timeout=5) as response:
            return f"status {response.status}, expected {row['http_status']}"
    except urllib.error.HTTPError as error:
        error.close()
        return None if error.code == row["http_status"] else f"status {error.code}"


def _check_rate_limited(row: _Row, web: SyntheticWeb) -> str | None:
    try:
        with _open(str(row["url"]), timeout=5):
            return "first request was not refused with 429"
    except urllib.error.HTTPError as error:
        error.close()
        if error.code != 429 or not error.headers.get("Retry-After", "").isdigit():
            return f"status {error.code} without a numeric Retry-After"
        time.sleep(int(error.headers["Retry-After"]) + 0.2)
    return _check_image(row, web)


def _check_timeout(row: _Row, web: SyntheticWeb) -> str | None:
    config = web.config
    timeout = min(0.5, config.slow_seconds / 2, config.drip_interval / 2)
    try:
        with _open(str(row["url"]), timeout=timeout) as response:
            response.read()
    except TimeoutError:
        return None
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            return None
        raise
    return f"answered completely within a {timeout} s timeout"


def _check_huge(row: _Row, web: SyntheticWeb) -> str | None:
    with _open(str(row["url"]), timeout=5) as response:
        first = response.read(2**20)
        chunked = response.headers.get("Transfer-Encoding") == "chunked"
        length = response.headers.get("Content-Length")
    if row["kind"] == "huge_body" and length != str(web.config.huge_bytes):
        return f"Content-Length is {length}, expected {web.config.huge_bytes}"
    if row["kind"] == "huge_body_chunked" and (not chunked or length is not None):
        return "not sent chunked without a length"
    return None if len(first) == 2**20 else f"only {len(first)} bytes arrived"


def _check_truncated(row: _Row, web: SyntheticWeb) -> str | None:
    try:
        with _open(str(row["url"]), timeout=5) as response:
            response.read()
    except http.client.IncompleteRead:
        return None
    return "body arrived complete"


def _check_html(row: _Row, web: SyntheticWeb) -> str | None:
    with _open(str(row["url"]), timeout=5) as response:
        kind = response.headers.get_content_type()
        return None if kind == "text/html" else f"Content-Type {kind}, expected text/html"


def _check_corrupt(row: _Row, web: SyntheticWeb) -> str | None:
    with _open(str(row["url"]), timeout=5) as response:
        body = response.read()
    try:
        with Image.open(io.BytesIO(body)) as image:
            image.load()
    except Exception:
        return None
    return "decodes although it should be corrupt"


def _check_bomb(row: _Row, web: SyntheticWeb) -> str | None:
    with _open(str(row["url"]), timeout=5) as response:
        body = response.read()
    size = struct.unpack(">II", body[16:24]) if body[12:16] == b"IHDR" else None
    if size != (row["width"], row["height"]):
        return f"PNG header declares {size}, expected {(row['width'], row['height'])}"
    return None if len(body) < 1024 else f"{len(body)} bytes, expected a tiny file"


def _check_loop(row: _Row, web: SyntheticWeb) -> str | None:
    try:
        with _open(str(row["url"]), timeout=5):
            return "redirect loop ended"
    except urllib.error.HTTPError as error:
        error.close()
        return None if error.code in (301, 302, 307, 308) else f"status {error.code}"


def _check_reset(row: _Row, web: SyntheticWeb) -> str | None:
    try:
        with _open(str(row["url"]), timeout=5):
            return "answered instead of resetting"
    except urllib.error.URLError as error:
        reason = error.reason
    except ConnectionResetError as error:
        reason = error
    return None if isinstance(reason, ConnectionResetError) else f"failed with {reason!r}"


_CHECKS: dict[str, Callable[[_Row, SyntheticWeb], str | None]] = {
    **{kind: _check_status for kind in STATUS_FAULTS},
    "ok": _check_image,
    "noai": _check_image,
    "noimageai": _check_image,
    "robots_disallowed": _check_image,
    "redirect_ok": _check_image,
    "rate_limited": _check_rate_limited,
    "slow_first_byte": _check_timeout,
    "drip": _check_timeout,
    "huge_body": _check_huge,
    "huge_body_chunked": _check_huge,
    "truncated": _check_truncated,
    "html_as_image": _check_html,
    "corrupt_image": _check_corrupt,
    "decompression_bomb": _check_bomb,
    "redirect_loop": _check_loop,
    "connection_reset": _check_reset,
}


def _check_robots(web: SyntheticWeb, origin: str, rows: list[_Row]) -> list[str]:
    parser = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
    parser.read()
    return [
        f"{row['url']}: robots.txt {'allows' if allowed else 'disallows'} it"
        for row in rows
        if (allowed := parser.can_fetch("*", str(row["url"])))
        == (row["kind"] == "robots_disallowed")
    ]


def check_served(web: SyntheticWeb, origin: str) -> CheckResult:
    """Fetch every image URL and page under `origin` and report where it differs from `web`."""
    start = time.monotonic()
    rows = web.ground_truth(origin).to_pylist()
    result = CheckResult(problems=_check_robots(web, origin, rows))
    for row in rows:
        try:
            problem = _CHECKS[str(row["kind"])](row, web)
        except Exception as exc:
            problem = f"failed with {type(exc).__name__}: {exc}"
        if problem:
            result.problems.append(f"{row['url']} ({row['kind']}): {problem}")
        result.checked += 1
    for page in web.plan.pages:
        with _open(origin + page.path, timeout=5) as response:
            if response.status != 200:
                result.problems.append(f"{origin + page.path}: status {response.status}")
        result.checked += 1
    result.seconds = time.monotonic() - start
    return result

"""A small polite crawler: robots.txt, same host by default, depth and page limits, a per-host
rate limit and a user agent that names the tool."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from wit_pipeline.net.robots import USER_AGENT, RobotsCache
from wit_pipeline.stages.scrape.archives import HTML_TYPES, Page, problem
from wit_pipeline.stages.scrape.html import extract_links

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CrawlOptions:
    """Limits of one crawl from a seed URL."""

    max_depth: int = 2
    max_pages: int = 1000
    requests_per_second: float = 2.0
    same_host: bool = True
    respect_robots: bool = True
    timeout: float = 10.0
    max_page_bytes: int = 5_000_000


class HostPacer:
    """Keeps at least 1/rate seconds between two requests to the same host."""

    def __init__(self, requests_per_second: float) -> None:
        self.interval = 1.0 / requests_per_second if requests_per_second > 0 else 0.0
        self._last: dict[str, float] = {}

    def wait(self, host: str) -> None:
        """Sleep until the host may be asked again, then note the request."""
        last = self._last.get(host)
        if last is not None:
            delay = self.interval - (time.monotonic() - last)
            if delay > 0:
                time.sleep(delay)
        self._last[host] = time.monotonic()


def _fetch(url: str, options: CrawlOptions) -> tuple[int, str, bytes, str]:
    """GET a URL: (status, content type, body cut at max_page_bytes + 1, URL after redirects)."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=options.timeout) as response:
            content_type = response.headers.get_content_type()
            body = response.read(options.max_page_bytes + 1)
            return response.status, content_type, body, response.geturl()
    except urllib.error.HTTPError as exc:
        return exc.code, "", b"", url


def crawl(seed: str, options: CrawlOptions, counts: Counter) -> Iterator[Page]:
    """Breadth-first crawl from `seed`, yielding every HTML page fetched."""
    pacer = HostPacer(options.requests_per_second)

    def fetch_robots(url: str) -> tuple[int, bytes]:
        pacer.wait(urlsplit(url).netloc)
        status, _, body, _ = _fetch(url, options)
        return status, body

    robots = RobotsCache(fetch_robots)
    seed_host = urlsplit(seed).netloc
    queue: deque[tuple[str, int]] = deque([(seed, 0)])
    seen = {seed}
    fetched = 0
    while queue and fetched < options.max_pages:
        url, depth = queue.popleft()
        if options.respect_robots and not robots.allowed(url):
            counts["robots_disallowed"] += 1
            continue
        pacer.wait(urlsplit(url).netloc)
        fetched += 1
        try:
            status, content_type, body, final_url = _fetch(url, options)
        except (OSError, ValueError) as exc:
            problem(counts, "fetch_error", url, 0, f"{type(exc).__name__}: {exc}")
            continue
        if status != 200:
            problem(counts, f"http_{status}", url, 0, "page not fetched")
            continue
        if content_type not in HTML_TYPES:
            counts["non_html_page"] += 1
            continue
        if len(body) > options.max_page_bytes:
            problem(counts, "page_truncated", url, 0, f"over {options.max_page_bytes} bytes")
            body = body[: options.max_page_bytes]
        if options.same_host and urlsplit(final_url).netloc != seed_host:
            counts["offsite_redirect"] += 1
            continue
        html = body.decode("utf-8", errors="replace")
        counts["pages_crawled"] += 1
        page = Page(url=final_url, html=html, offset=0)
        yield page
        if depth >= options.max_depth:
            continue
        for link in extract_links(page.tree, final_url):
            if link in seen or (options.same_host and urlsplit(link).netloc != seed_host):
                continue
            seen.add(link)
            queue.append((link, depth + 1))

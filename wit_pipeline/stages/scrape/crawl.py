"""A small polite crawler: robots.txt, same host by default, depth and page limits, a per-host
rate limit and a user agent that names the tool. Pages come through the shared fetcher of
`wit_pipeline.net`, so a crawl has the download's guarantees: one overall deadline per request,
a body cap, and no request to a private or metadata address (redirects included) unless
`allow_private_networks`."""

from __future__ import annotations

import contextlib
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from wit_pipeline.net.fetch import HTML_ACCEPT, Fetcher, FetchOptions
from wit_pipeline.net.guard import Resolver
from wit_pipeline.net.url import InvalidURL, normalise_url
from wit_pipeline.stages.scrape.archives import HTML_TYPES, Page, problem
from wit_pipeline.stages.scrape.html import extract_links


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
    max_redirects: int = 5
    allow_private_networks: bool = False
    allowed_addresses: frozenset[str] = frozenset()
    resolver: Resolver | None = None

    def fetch_options(self) -> FetchOptions:
        """The fetcher settings of a crawl: pages over the size limit are cut, not failed."""
        return FetchOptions(
            timeout=self.timeout,
            retries=0,
            max_bytes=self.max_page_bytes,
            max_redirects=self.max_redirects,
            max_per_host=1,
            respect_robots=self.respect_robots,
            respect_x_robots_tag=False,
            allow_private_networks=self.allow_private_networks,
            allowed_addresses=self.allowed_addresses,
            resolver=self.resolver,
            cut_oversize=True,
            accept=HTML_ACCEPT,
        )


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


def crawl(seed: str, options: CrawlOptions, counts: Counter) -> Iterator[Page]:
    """Breadth-first crawl from `seed`, yielding every HTML page fetched."""
    with contextlib.suppress(InvalidURL):  # a bad seed is reported by the fetch
        seed = normalise_url(seed)  # as links are, so that same-host checks compare alike
    pacer = HostPacer(options.requests_per_second)
    fetcher = Fetcher(options.fetch_options())
    seed_host = urlsplit(seed).netloc
    queue: deque[tuple[str, int]] = deque([(seed, 0)])
    seen = {seed}
    fetched = 0
    while queue and fetched < options.max_pages:
        url, depth = queue.popleft()
        pacer.wait(urlsplit(url).netloc)
        result = fetcher.fetch(url)
        if result.error_code == "robots":
            counts["robots_disallowed"] += 1
            continue
        fetched += 1
        if not result.ok:
            problem(counts, result.error_code or "fetch_error", url, 0, str(result.error_message))
            continue
        if result.content_type.split(";")[0].strip().lower() not in HTML_TYPES:
            counts["non_html_page"] += 1
            continue
        if result.cut:
            problem(counts, "page_truncated", url, 0, f"over {options.max_page_bytes} bytes")
        final_url = result.final_url or url
        if options.same_host and urlsplit(final_url).netloc != seed_host:
            counts["offsite_redirect"] += 1
            continue
        counts["pages_crawled"] += 1
        page = Page(url=final_url, html=(result.body or b"").decode("utf-8", "replace"), offset=0)
        yield page
        if depth >= options.max_depth:
            continue
        for link in extract_links(page.tree, final_url):
            if link in seen or (options.same_host and urlsplit(link).netloc != seed_host):
                continue
            seen.add(link)
            queue.append((link, depth + 1))

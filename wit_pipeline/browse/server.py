"""The local web server of `browse`: GET pages over an open Index, nothing else. Loopback by
default, no write endpoint, only images out of the workspace's raw tars, a strict content
security policy (no script, nothing loaded from elsewhere)."""

from __future__ import annotations

import json
import logging
import math
import socket
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wit_pipeline.browse import pages
from wit_pipeline.browse.filters import Filters
from wit_pipeline.browse.index import MODES, Index, SearchResult
from wit_pipeline.core.errors import InputError

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
MAX_K = 1000
INTS = ("min_side", "max_side", "page", "k")
FLOATS = ("min_score", "max_score")


def _number(name: str, text: str) -> int | float:
    try:
        value = int(text) if name in INTS else float(text)
    except ValueError:
        raise InputError(f"{name}={text!r}: not a number") from None
    if (isinstance(value, float) and not math.isfinite(value)) or (value < 0 and name in INTS):
        raise InputError(f"{name}={text!r}: out of range")
    return value


def request_params(query: str) -> dict[str, Any]:
    """The query string's last value per name, numbers converted; empty values dropped."""
    params = {k: v[-1] for k, v in parse_qs(query).items() if v and v[-1] != ""}
    for name in (*INTS, *FLOATS):
        if name in params:
            params[name] = _number(name, params[name])
    return params


def filters_from_params(params: dict[str, Any]) -> Filters:
    """The Filters a page's query string asks for."""
    keep = params.get("keep")
    if keep not in (None, "kept", "dropped"):
        raise InputError(f"keep={keep!r}: must be kept or dropped")
    return Filters(
        keep=None if keep is None else keep == "kept",
        reason=params.get("reason"),
        lang=params.get("lang"),
        step=params.get("step"),
        entry=params.get("entry"),
        min_side=params.get("min_side"),
        max_side=params.get("max_side"),
        min_score=params.get("min_score"),
        max_score=params.get("max_score"),
    )


def find(index: Index, params: dict[str, Any], filters: Filters, first: int, count: int):
    """Results `first`..`first+count` of what the params ask (a search or the listing), and
    a summary line."""
    query, mode, like = params.get("q", ""), params.get("in", "auto"), params.get("like")
    if mode not in MODES:
        raise InputError(f"in={mode!r}: must be one of {', '.join(MODES)}")
    if like:
        found = index.images_like(like, filters, first + count)[first:]
        return found, f"images like sample {like}"
    if query and (mode == "captions" or (mode == "auto" and not index.images_searchable())):
        return index.captions(query, filters, count, first), f"captions matching {query!r}"
    if query:
        found = index.images_by_text(query, filters, first + count)[first:]
        return found, f"images closest to {query!r} (CLIP)"
    total = index.count(filters)
    return index.page(filters, first, count), f"{total:,} samples match"


class BrowseServer(ThreadingHTTPServer):
    """The HTTP server, holding the index its handlers read."""

    daemon_threads = True

    def __init__(self, index: Index, host: str = "127.0.0.1", port: int = 0) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), Handler)
        self.index = index

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that left before its answer was sent is no error worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("%s closed the connection early", client_address[0])
        else:
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        """Where the page is served."""
        host, port = self.server_address[:2]
        return f"http://{f'[{host}]' if ':' in str(host) else host}:{port}/"


class Handler(BaseHTTPRequestHandler):
    """GET and HEAD only: any other method gets 501 from the base class."""

    server: BrowseServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        route = {
            "/": self._samples,
            "/sample": self._sample,
            "/image": self._image,
            "/funnel": self._funnel,
            "/api/search": self._api_search,
        }.get(parts.path)
        if route is None:
            self._send(HTTPStatus.NOT_FOUND, pages.error_page("no such page"))
            return
        try:
            route(request_params(parts.query))
        except InputError as exc:
            self._send(HTTPStatus.BAD_REQUEST, pages.error_page(str(exc)))

    def _send(self, status: HTTPStatus, body: str | bytes, kind: str = "text/html") -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", kind + ("; charset=utf-8" if kind[:4] != "imag" else ""))
        self.send_header("Content-Length", str(len(data)))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _samples(self, params: dict[str, Any]) -> None:
        index, filters = self.server.index, filters_from_params(params)
        number = int(params.get("page", 0))
        first = number * pages.PER_PAGE
        results, summary = find(index, params, filters, first, pages.PER_PAGE)
        next_link = None
        if len(results) == pages.PER_PAGE:
            rest = {k: v for k, v in params.items() if k != "page"}
            next_link = pages.link("/", {**rest, "page": number + 1})
        form = pages.search_form(params.get("q", ""), params.get("in", "auto"), filters,
                                 index.facets)  # fmt: skip
        self._send(HTTPStatus.OK, pages.results_page("Samples", form, results, summary, next_link))

    def _sample(self, params: dict[str, Any]) -> None:
        item = self.server.index.item(str(params.get("key", "")))
        if item is None:
            self._send(HTTPStatus.NOT_FOUND, pages.error_page("no sample with that key"))
            return
        duplicates = self.server.index.duplicates(item["key"])
        heads = self.server.index.head_scores(item)
        self._send(HTTPStatus.OK, pages.sample_page(item, duplicates, heads))

    def _image(self, params: dict[str, Any]) -> None:
        item = self.server.index.item(str(params.get("key", "")))
        found = item and self.server.index.images.read(item["shard"], item["key"])
        if not found:
            self._send(HTTPStatus.NOT_FOUND, b"no image", "text/plain")
            return
        data, kind = found
        self._send(HTTPStatus.OK, data, kind)

    def _funnel(self, params: dict[str, Any]) -> None:
        self._send(HTTPStatus.OK, pages.funnel_page(self.server.index.funnel))

    def _api_search(self, params: dict[str, Any]) -> None:
        filters = filters_from_params(params)
        k = min(int(params.get("k", 20)), MAX_K)
        results: list[SearchResult] = find(self.server.index, params, filters, 0, k)[0]
        lines = "".join(
            json.dumps(r.to_json(), ensure_ascii=False, default=str) + "\n" for r in results
        )
        self._send(HTTPStatus.OK, lines, "application/x-ndjson")

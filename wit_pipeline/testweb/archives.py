"""Pack pages into a WARC (warcio's writer) or a Common Crawl style WAT, for tests and benchmarks.

The WAT's links come from BeautifulSoup, independently of the scraper's own parser, and keep
URLs as written in the page (unresolved), as Common Crawl's WAT files do.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path


def write_warc(path: Path, pages: Iterable[tuple[str, bytes]], *, compress: bool = True) -> int:
    """Write one `response` record (HTTP 200, text/html) per (url, html) page; returns the count."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    count = 0
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=compress)
        for url, html in pages:
            headers = StatusAndHeaders(
                "200 OK",
                [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(html)))],
                protocol="HTTP/1.1",
            )
            record = writer.create_warc_record(
                url, "response", payload=io.BytesIO(html), http_headers=headers
            )
            writer.write_record(record)
            count += 1
    return count


def wat_envelope(url: str, html: bytes) -> dict:
    """The WAT JSON of one HTML response, with `IMG@/src` links as Common Crawl writes them."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    links = []
    for img in soup.find_all("img"):
        if img.get("src"):
            link = {"path": "IMG@/src", "url": img["src"]}
            if img.get("alt") is not None:
                link["alt"] = img["alt"]
            links.append(link)
    for anchor in soup.find_all("a", href=True):
        links.append({"path": "A@/href", "url": anchor["href"]})
    head: dict = {"Title": soup.title.get_text() if soup.title else ""}
    base = soup.find("base", href=True)
    if base:
        head["Base"] = base["href"]
    return {
        "Envelope": {
            "Format": "WARC",
            "WARC-Header-Length": "0",
            "WARC-Header-Metadata": {"WARC-Type": "response", "WARC-Target-URI": url},
            "Payload-Metadata": {
                "Actual-Content-Type": "application/http; msgtype=response",
                "HTTP-Response-Metadata": {
                    "Response-Message": {"Status": "200", "Version": "HTTP/1.1"},
                    "Headers": {"Content-Type": "text/html; charset=utf-8"},
                    "HTML-Metadata": {"Head": head, "Links": links},
                },
            },
        }
    }


def write_wat(
    path: Path, envelopes: Iterable[tuple[str, dict | bytes]], *, compress: bool = True
) -> int:
    """Write one `metadata` record (application/json) per (target URI, envelope or raw bytes)."""
    from warcio.warcwriter import WARCWriter

    count = 0
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=compress)
        for url, envelope in envelopes:
            payload = envelope if isinstance(envelope, bytes) else json.dumps(envelope).encode()
            record = writer.create_warc_record(
                url, "metadata", payload=io.BytesIO(payload), warc_content_type="application/json"
            )
            writer.write_record(record)
            count += 1
    return count

"""Helpers of the test-web tests: pick ground-truth rows, decode images, read page markup."""

from __future__ import annotations

import io
import socket
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

from PIL import Image


def rows_of(truth: list[dict], kind: str) -> list[dict]:
    """The ground-truth rows of one kind; fails when there are none."""
    rows = [row for row in truth if row["kind"] == kind]
    assert rows, f"the test web has no {kind} URL"
    return rows


def decoded(body: bytes) -> tuple[str, int, int, str]:
    """(format, width, height, mode) of an image, fully decoded."""
    with Image.open(io.BytesIO(body)) as image:
        image.load()
        return image.format.lower(), image.width, image.height, image.mode


@dataclass
class ImageRef:
    """One image a page refers to, as a scraper should read it."""

    raw: str
    url: str
    markup: str
    caption: str
    caption_source: str


class _Refs(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = page_url
        self.refs: list[ImageRef] = []
        self.in_link = False
        self.figure: ImageRef | None = None
        self.in_figcaption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "base":
            self.base = urljoin(self.base, a["href"])
        elif tag == "a":
            self.in_link = True
        elif tag == "figcaption":
            self.in_figcaption = True
        elif tag == "figure":
            self.figure = ImageRef("", "", "figure", "", "figcaption")
        elif tag == "img":
            self._image(a)

    def _image(self, a: dict[str, str]) -> None:
        if self.figure is not None:
            self.figure.raw = a["src"]
            self.figure.url = urljoin(self.base, a["src"])
            return
        if "data-src" in a:
            raw, markup = a["data-src"], "data_src"
        elif "srcset" in a:
            raw, markup = a["srcset"].split(",")[0].split()[0], "srcset"
        elif self.in_link:
            raw, markup = a["src"], "in_link"
        elif "title" in a:
            raw, markup = a["src"], "title"
        else:
            raw, markup = a["src"], "img_alt" if "alt" in a else "img"
        source = "title" if markup == "title" else "alt" if "alt" in a else "none"
        caption = a.get("title" if markup == "title" else "alt", "")
        self.refs.append(ImageRef(raw, urljoin(self.base, raw), markup, caption, source))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self.in_link = False
        elif tag == "figcaption":
            self.in_figcaption = False
        elif tag == "figure" and self.figure is not None:
            self.refs.append(self.figure)
            self.figure = None

    def handle_data(self, data: str) -> None:
        if self.in_figcaption and self.figure is not None:
            self.figure.caption += data


def image_refs(page_url: str, html: str) -> list[ImageRef]:
    """Every image a page shows, resolved against the page URL and its `<base href>`."""
    parser = _Refs(page_url)
    parser.feed(html)
    parser.close()
    return parser.refs


class _Links(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.base = page_url
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "base":
            self.base = urljoin(self.base, a["href"])
        elif tag == "a" and a.get("href"):
            self.urls.append(urljoin(self.base, a["href"]))


def links(page_url: str, html: str) -> list[str]:
    """The absolute targets of a page's `<a href>` links, `<base href>` respected."""
    parser = _Links(page_url)
    parser.feed(html)
    return parser.urls


def raw_request(port: int, path: str, timeout: float = 5.0) -> socket.socket:
    """A plain socket that has sent `GET path` to 127.0.0.1:port (caller closes it)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    return sock


def split_response(data: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-cased headers, body) of raw HTTP/1.1 response bytes."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body

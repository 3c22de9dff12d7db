"""The fetch's pieces: X-Robots-Tag parsing, header-only image checks, the GIF fallback."""

import io
import socket
import threading
import time

import pytest
from PIL import Image

from wit_pipeline.net.fetch import Fetcher, FetchOptions, x_robots_forbids
from wit_pipeline.stages.download.image import ImageRejected, gif_as_png, inspect_image
from wit_pipeline.stages.download.shard import fetch_row


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["noai"], "noai"),
        (["noindex, nofollow"], "noindex"),
        (["googlebot: noimageindex"], None),
        (["wit-pipeline: noimageai"], "noimageai"),
        (["*: noai"], "noai"),
        (["nofollow", "noarchive"], None),
        (["none"], "none"),
        (["max-image-preview: none, noimageindex"], "noimageindex"),
        (["unavailable_after: 25 Jun 2010 15:00:00 PST, noindex"], "noindex"),
        (["unavailable_after: 25 Jun 2010 15:00:00 PST"], None),
        (["NoImageAI"], "noimageai"),
    ],
)
def test_x_robots_tag(values, expected):
    assert x_robots_forbids(values) == expected


def _png(size, mode="RGB"):
    out = io.BytesIO()
    Image.new(mode, size).save(out, format="PNG")
    return out.getvalue()


def test_header_check_passes_sizes_and_refuses_pixel_floods():
    assert inspect_image(_png((30, 20)), "image/png", 1000) == (30, 20, "png")
    with pytest.raises(ImageRejected, match="declares 40x30, over the limit of 1,000 pixels"):
        inspect_image(_png((40, 30)), "image/png", 1000)


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b"<!DOCTYPE html><html></html>", "text/html", "not_an_image"),
        (b"\xff\xd8\xff\xe0garbage" * 10, "image/jpeg", "decode_error"),
    ],
)
def test_non_images(body, content_type, code):
    with pytest.raises(ImageRejected) as info:
        inspect_image(body, content_type, 10**8)
    assert info.value.code == code


def test_gif_becomes_png():
    out = io.BytesIO()
    Image.new("P", (3, 2)).save(out, format="GIF")
    png = gif_as_png(out.getvalue())
    assert Image.open(io.BytesIO(png)).format == "PNG"


def test_invalid_urls_fail_without_network():
    fetcher = Fetcher(FetchOptions(retries=3))
    for url in ("ftp://x/y.jpg", "http://", "http://h:99999/x"):
        result = fetcher.fetch(url)
        assert (result.error_code, result.attempts) == ("invalid_url", 1)


def _dripping_server(chunks: list[bytes], pause: float) -> tuple[str, threading.Thread]:
    """A raw TCP server on 127.0.0.1 sending `chunks` with a pause between each, once."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        with connection, listener:
            connection.recv(65536)
            for chunk in chunks:
                try:
                    connection.sendall(chunk)
                except OSError:
                    return
                time.sleep(pause)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/x.jpg", thread


@pytest.mark.parametrize(
    "chunks",
    [
        [b"HTTP/1.1 200 OK\r\n"] + [f"X-Header-{i}: v\r\n".encode() for i in range(40)],
        [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"] + [b"1"] * 40,
    ],
    ids=["headers-drip", "chunk-size-drip"],
)
def test_the_deadline_bounds_the_whole_request(chunks):
    url, thread = _dripping_server(chunks, pause=0.2)
    fetcher = Fetcher(
        FetchOptions(timeout=1.0, retries=0, allow_private_networks=True, respect_robots=False)
    )
    start = time.monotonic()
    result = fetcher.fetch(url)
    assert result.error_code == "timeout"
    assert time.monotonic() - start < 2.5
    thread.join(timeout=10)


def test_truncated_gif_fails_its_row_not_the_shard():
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(out, format="GIF")
    gif = out.getvalue()[:40]
    head = f"HTTP/1.1 200 OK\r\nContent-Type: image/gif\r\nContent-Length: {len(gif)}\r\n\r\n"
    url, thread = _dripping_server([head.encode() + gif], pause=0)
    fetcher = Fetcher(FetchOptions(retries=0, allow_private_networks=True, respect_robots=False))
    outcome = fetch_row(url, False, fetcher, 10**8)
    assert (outcome.status, outcome.error_code) == ("failed_to_resize", "decode_error")
    thread.join(timeout=10)

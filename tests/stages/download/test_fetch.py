"""The fetch's pieces: X-Robots-Tag parsing, header-only image checks, the GIF fallback."""

import io

import pytest
from PIL import Image

from wit_pipeline.stages.download.fetch import Fetcher, FetchOptions, x_robots_forbids
from wit_pipeline.stages.download.image import ImageRejected, gif_as_png, inspect_image


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["noai"], "noai"),
        (["noindex, nofollow"], "noindex"),
        (["googlebot: noimageindex"], None),
        (["wit-pipeline: noimageai"], "noimageai"),
        (["*: noai"], "noai"),
        (["nofollow", "none"], None),
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

"""Header-only checks of a fetched body: is it an image, how many pixels, and what will
decoding it hold (channels, sample size, transparency, progressive coefficients)?"""

import io

import pytest
from PIL import Image

from wit_pipeline.stages.download.image import ImageRejected, inspect_image
from wit_pipeline.testweb import hostile_bodies


def _encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def test_header_check_passes_sizes_and_refuses_pixel_floods():
    header = inspect_image(_encoded(Image.new("RGB", (30, 20)), "PNG"), "image/png", 1000)
    assert (header.width, header.height, header.format, header.channels) == (30, 20, "png", 3)
    with pytest.raises(ImageRejected, match="declares 40x30, over the limit of 1,000 pixels"):
        inspect_image(_encoded(Image.new("RGB", (40, 30)), "PNG"), "image/png", 1000)


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


@pytest.mark.parametrize(
    ("body", "channels", "sample_bytes", "alpha"),
    [
        (_encoded(Image.new("L", (8, 8)), "PNG"), 1, 1, False),
        (_encoded(Image.new("P", (8, 8)), "PNG"), 3, 1, False),
        (_encoded(Image.new("P", (8, 8)), "PNG", transparency=0), 4, 1, True),
        (_encoded(Image.new("LA", (8, 8)), "PNG"), 4, 1, True),
        (_encoded(Image.new("RGBA", (8, 8)), "WEBP"), 4, 1, True),
        (_encoded(Image.new("I;16", (8, 8)), "PNG"), 1, 2, False),
        (hostile_bodies.palette_bomb_png(), 4, 1, True),
        (hostile_bodies.planar_tiff16(), 3, 2, False),
    ],
)
def test_the_header_tells_what_the_decoder_will_hold(body, channels, sample_bytes, alpha):
    header = inspect_image(body, "", 10**8)
    assert (header.channels, header.sample_bytes, header.alpha) == (channels, sample_bytes, alpha)


def test_progressive_jpegs_count_their_coefficients():
    photo = Image.new("RGB", (64, 64), (10, 200, 30))
    baseline = inspect_image(_encoded(photo, "JPEG"), "", 10**8)
    sampled = inspect_image(_encoded(photo, "JPEG", progressive=True), "", 10**8)
    full = inspect_image(_encoded(photo, "JPEG", progressive=True, subsampling=0), "", 10**8)
    assert (baseline.coefficient_bytes, sampled.coefficient_bytes) == (0.0, 3.0)
    assert full.coefficient_bytes == 6.0

"""128-bit colour hashes: a SimHash of an image's mean-centred 16x16 RGB thumbnail.

pHash works on grey, so two drawings of a similar shape in other colours (or other shapes at
the same place) often share it. The colour hash keeps colour and finer layout: the Hamming
distance of two colour hashes estimates the angle between the two centred thumbnails, which
a copy that is re-encoded, resized or brightened (a scaling of the pixel values) keeps small.
"""

from __future__ import annotations

import hashlib
from functools import cache

import numpy as np
from PIL import Image, ImageFilter

THUMBNAIL = 16
"""Side of the RGB thumbnail the hash projects (a box reduction of the image)."""

BITS = 128
"""Bits of the hash: random hyperplanes through the centred thumbnail, one bit each."""

HASH_BYTES = BITS // 8


@cache
def _hyperplanes() -> np.ndarray:
    """The (16*16*3, 128) matrix of +1/-1 hyperplanes, from sha256 so it never changes."""
    size = THUMBNAIL * THUMBNAIL * 3 * BITS
    stream = b"".join(
        hashlib.sha256(f"wit-pipeline colour hash {block}".encode()).digest()
        for block in range(-(-size // 256))
    )
    bits = np.unpackbits(np.frombuffer(stream, dtype=np.uint8))[:size]
    return (bits.astype(np.float32) * 2 - 1).reshape(THUMBNAIL * THUMBNAIL * 3, BITS)


def colour_hash(
    image: Image.Image,
    box: tuple[float, float, float, float] | None = None,
    mirrored: bool = False,
    blur: float = 0.0,
) -> bytes:
    """The 16-byte colour hash of an image (of `box` within it, in pixels, fractions allowed:
    the box filter weighs the pixels it covers in part; any mode, converted to RGB), or of its
    left-right mirror; `blur`: the radius of a Gaussian blur of the thumbnail, in cells."""
    return hash_thumbnail(thumbnails(image, box, (blur,))[0], mirrored)


def thumbnails(
    image: Image.Image,
    box: tuple[float, float, float, float] | None = None,
    blurs: tuple[float, ...] = (0.0,),
) -> list[np.ndarray]:
    """The 16x16 RGB thumbnail of `box` within `image`, once per blur radius in `blurs` (0: as
    reduced): one box reduction shared by every hash of a region (`hash_thumbnail`)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    thumbnail = rgb.resize((THUMBNAIL, THUMBNAIL), Image.Resampling.BOX, box=box)
    return [
        np.asarray(thumbnail.filter(ImageFilter.GaussianBlur(blur)) if blur else thumbnail)
        for blur in blurs
    ]


def hash_thumbnail(small: np.ndarray, mirrored: bool = False) -> bytes:
    """The colour hash of a thumbnail from `thumbnails`, or of its left-right mirror."""
    if mirrored:
        small = small[:, ::-1]
    pixels = small.astype(np.float32).reshape(-1)
    projected = (pixels - pixels.mean()) @ _hyperplanes()
    return np.packbits(projected > 0).tobytes()


def as_words(hashes: bytes | list[bytes]) -> np.ndarray:
    """Colour hashes as an (n, 2) uint64 array, from their bytes back to back."""
    data = hashes if isinstance(hashes, bytes) else b"".join(hashes)
    return np.frombuffer(data, dtype=np.uint64).reshape(-1, HASH_BYTES // 8)


def colour_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bits that differ between rows of two (n, 2) uint64 arrays of colour hashes."""
    return np.bitwise_count(a ^ b).sum(axis=1, dtype=np.int64)

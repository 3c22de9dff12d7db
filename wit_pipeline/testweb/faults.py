"""Fault kinds of the synthetic web and the odd payloads some of them serve."""

from __future__ import annotations

import functools
import struct
import zlib

import numpy as np

from . import rand

STATUS_FAULTS: dict[str, int] = {
    "not_found": 404,
    "gone": 410,
    "server_error": 500,
    "unavailable": 503,
}
FAULT_KINDS: tuple[str, ...] = (
    *STATUS_FAULTS,
    "rate_limited",
    "slow_first_byte",
    "drip",
    "huge_body",
    "huge_body_chunked",
    "truncated",
    "html_as_image",
    "corrupt_image",
    "decompression_bomb",
    "redirect_ok",
    "redirect_loop",
    "noai",
    "noimageai",
    "robots_disallowed",
    "connection_reset",
)
KINDS: tuple[str, ...] = ("ok", *FAULT_KINDS)

IMAGE_FAULTS = frozenset(
    {"rate_limited", "slow_first_byte", "redirect_ok", "noai", "noimageai", "robots_disallowed"}
)
"""Faults that still deliver the row's image to a patient, redirect-following client."""

BOMB_SIZE = 40000
ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.cache
def bomb_png() -> bytes:
    """A valid-looking 1-bit PNG declaring 40000 x 40000 pixels, with an empty IDAT stream."""
    header = struct.pack(">IIBBBBB", BOMB_SIZE, BOMB_SIZE, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b""))
        + _chunk(b"IEND", b"")
    )


def corrupt_jpeg(seed: int, image_id: int) -> bytes:
    """A JPEG start-of-image marker, then noise without 0xFF bytes: no marker, no decoder."""
    noise = rand.stream(seed, rand.CORRUPT, image_id).integers(0, 255, 3000, dtype=np.uint8)
    return b"\xff\xd8" + noise.tobytes()


def error_page(status: int, reason: str) -> bytes:
    """The small HTML body sent with an error status."""
    return (
        f"<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>"
        f"<body><h1>{status} {reason}</h1></body></html>\n"
    ).encode()


SOFT_ERROR_PAGE = (
    b'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Image not available</title>'
    b"</head><body><h1>Sorry!</h1><p>This image is no longer available. Please visit our "
    b'<a href="/index.html">home page</a>.</p></body></html>\n'
)
"""What html_as_image serves with status 200 for an image URL (a 'soft 404')."""

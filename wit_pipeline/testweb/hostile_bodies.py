"""Small files that cost a decoder far more than their size, and files decoders disagree on:
the payloads of the hostile server (hostile.py). Each is built from bytes, deterministic, and
cheap to make (the compressors stream zeros; nothing is decoded here)."""

from __future__ import annotations

import functools
import io
import struct
import zlib

import numpy as np
from PIL import Image

BOMB_SIDE = 9000
"""Sides of the memory bombs: 81 million pixels, under the default 1e8-pixel cap."""


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(side: int, bit_depth: int, colour_type: int, row_bytes: int, extra: bytes) -> bytes:
    """A PNG of `side` x `side` zero rows (filter 0), compressed as a stream."""
    compressor = zlib.compressobj(9)
    row = bytes(1 + row_bytes)
    rows_per_piece = max(1, (1 << 22) // len(row))
    piece = row * rows_per_piece
    data = []
    for start in range(0, side, rows_per_piece):
        data.append(compressor.compress(piece[: len(row) * min(rows_per_piece, side - start)]))
    data.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + extra
        + _png_chunk(b"IDAT", b"".join(data))
        + _png_chunk(b"IEND", b"")
    )


@functools.cache
def palette_bomb_png(side: int = BOMB_SIDE) -> bytes:
    """A 1-bit palette PNG with a transparent entry (tRNS): about 10 KB for 9000x9000, which
    OpenCV decodes to 4 channels and img2dataset composites in float64 (6.9 GB)."""
    palette = _png_chunk(b"PLTE", bytes([255, 0, 0, 0, 0, 255]))
    transparency = _png_chunk(b"tRNS", bytes([0]))
    return _png(side, 1, 3, (side + 7) // 8, palette + transparency)


@functools.cache
def rgba_bomb_png(side: int = BOMB_SIDE) -> bytes:
    """An 8-bit RGBA PNG of transparent black: about 314 KB for 9000x9000."""
    return _png(side, 8, 6, 4 * side, b"")


@functools.cache
def screen_bomb_gif(side: int = BOMB_SIDE) -> bytes:
    """A GIF whose logical screen is `side` x `side` around one transparent 1x1 frame: a few
    dozen bytes that Pillow renders onto the whole screen."""
    screen = struct.pack("<6sHHBBB", b"GIF89a", side, side, 0x80, 0, 0)
    colours = bytes([0, 0, 0, 255, 255, 255])
    control = b"\x21\xf9\x04\x01\x00\x00\x00\x00"  # graphic control: colour 0 transparent
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
    pixels = b"\x02\x02\x44\x01\x00"  # LZW, minimum code size 2: clear, 0, end
    return screen + colours + control + frame + pixels + b"\x3b"


def planar_tiff16(width: int = 64, height: int = 48, seed: int = 0) -> bytes:
    """An uncompressed 16-bit RGB TIFF stored plane by plane (PlanarConfiguration 2) with
    random samples: OpenCV 4.x decodes it differently on each call."""
    planes = np.random.default_rng(seed).integers(0, 65535, (3, height, width), dtype="<u2")
    strips = [planes[i].tobytes() for i in range(3)]
    offsets = [8 + sum(len(s) for s in strips[:i]) for i in range(3)]
    after = 8 + sum(len(s) for s in strips)
    arrays = struct.pack("<3H", 16, 16, 16) + struct.pack("<3I", *offsets)
    arrays += struct.pack("<3I", *[len(s) for s in strips])
    bits_at, offsets_at, counts_at = after, after + 6, after + 18
    tags = [
        (256, 3, 1, width),
        (257, 3, 1, height),
        (258, 3, 3, bits_at),
        (259, 3, 1, 1),  # no compression
        (262, 3, 1, 2),  # RGB
        (273, 4, 3, offsets_at),
        (277, 3, 1, 3),
        (278, 3, 1, height),
        (279, 4, 3, counts_at),
        (284, 3, 1, 2),  # planar
    ]
    directory = struct.pack("<H", len(tags))
    directory += b"".join(struct.pack("<HHII", *tag) for tag in tags) + struct.pack("<I", 0)
    head = b"II*\x00" + struct.pack("<I", after + len(arrays))
    return head + b"".join(strips) + arrays + directory


def jpeg(side: int = 32, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small ordinary JPEG."""
    out = io.BytesIO()
    Image.new("RGB", (side, side), colour).save(out, format="JPEG")
    return out.getvalue()


def small_shard(count: int = 2) -> bytes:
    """A WebDataset tar of `count` samples (KEY.jpg, KEY.txt, KEY.json), keys 000000000..."""
    import io
    import json
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for number in range(count):
            key = f"{number:09d}"
            members = (
                ("jpg", jpeg()),
                ("txt", b"a red square"),
                ("json", json.dumps({"key": key}).encode()),
            )
            for ext, data in members:
                info = tarfile.TarInfo(f"{key}.{ext}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()

"""A photo-sized JPEG set for the download and resize benchmarks, from the committed real
photos alone (no network): each picture a random crop of one of them, upscaled so its longer
side is 500-2,000 px (most of a web crawl's photos), mirrored half the time, saved at JPEG
quality 80-95. The same `count` and `seed` give the same bytes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

REAL_PHOTOS = Path(__file__).resolve().parent / "data" / "real_photos"
SIDES = (500, 2000)
"""Range of the longer side in pixels, drawn log-uniformly."""


def _sources() -> list[Image.Image]:
    return [Image.open(path).convert("RGB") for path in sorted(REAL_PHOTOS.glob("*.jpg"))]


def photo_sized(count: int, seed: int = 0) -> list[bytes]:
    """`count` distinct photo-sized JPEGs (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    sources = _sources()
    out = []
    for index in range(count):
        source = sources[index % len(sources)]
        keep = rng.uniform(0.7, 1.0, 2)
        width, height = round(source.width * keep[0]), round(source.height * keep[1])
        left = int(rng.integers(0, source.width - width + 1))
        top = int(rng.integers(0, source.height - height + 1))
        picture = source.crop((left, top, left + width, top + height))
        side = float(np.exp(rng.uniform(*np.log(SIDES))))
        scale = side / max(picture.size)
        size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        picture = picture.resize(size, Image.Resampling.BICUBIC)
        if rng.random() < 0.5:
            picture = ImageOps.mirror(picture)
        body = io.BytesIO()
        picture.save(body, format="JPEG", quality=int(rng.integers(80, 96)))
        out.append(body.getvalue())
    return out

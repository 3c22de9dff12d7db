"""Our pHash gives imagehash.phash's bits, as a 64-bit integer, from two small matrix products."""

import imagehash
import numpy as np
from PIL import Image

from wit_pipeline.scoring.phash import phash64


def _imagehash_phash(image: Image.Image) -> int:
    small = image.convert("L").resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=2.0)
    bits = imagehash.phash(small, hash_size=8).hash.flatten()
    return int("".join("1" if bit else "0" for bit in bits), 2)


def _images(count: int) -> list[Image.Image]:
    rng = np.random.default_rng(0)
    images = []
    for index in range(count):
        pixels = rng.integers(0, 256, (rng.integers(20, 300), rng.integers(20, 300), 3))
        if index % 2:
            pixels = np.cumsum(pixels, axis=0) % 256
        images.append(Image.fromarray(pixels.astype(np.uint8)))
    return images


def test_phash_has_imagehash_bits():
    images = _images(60)
    ours = [phash64(image) for image in images]
    assert ours == [_imagehash_phash(image) for image in images]
    assert len(set(ours)) == len(ours)


def test_box_hashes_the_picture_inside_it():
    image = _images(2)[1]
    box = (5, 7, image.width - 3, image.height - 9)
    assert phash64(image, box) == phash64(image.crop(box))

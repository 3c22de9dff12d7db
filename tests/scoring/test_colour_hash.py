"""The colour hash keeps a brightened or resized copy close and tells other colours apart."""

import numpy as np
from PIL import Image, ImageDraw

from wit_pipeline.scoring.colour_hash import (
    BITS,
    HASH_BYTES,
    as_words,
    colour_distance,
    colour_hash,
    hash_thumbnail,
    thumbnails,
)


def _drawing(shape_colour: str, background: str = "white", box=(20, 15, 60, 50)) -> Image.Image:
    image = Image.new("RGB", (96, 72), background)
    ImageDraw.Draw(image).ellipse(box, fill=shape_colour)
    return image


def _distance(a: Image.Image, b: Image.Image) -> int:
    return int(colour_distance(as_words(colour_hash(a)), as_words(colour_hash(b)))[0])


def test_copies_stay_close_and_other_colours_do_not():
    original = _drawing("red", "gold")
    darker = Image.fromarray((np.asarray(original, dtype=np.float32) * 0.75).astype(np.uint8))
    smaller = original.resize((60, 45), Image.Resampling.LANCZOS)
    assert len(colour_hash(original)) == HASH_BYTES
    assert _distance(original, original) == 0
    assert _distance(original, darker) <= 8
    assert _distance(original, smaller) <= 8
    assert _distance(original, _drawing("blue", "gold")) > BITS // 8
    assert _distance(original, _drawing("red", "gold", box=(50, 10, 90, 40))) > BITS // 8


def test_words_round_trip_many_hashes():
    hashes = [colour_hash(_drawing(c)) for c in ("red", "green", "blue")]
    words = as_words(hashes)
    assert words.shape == (3, 2) and words.dtype == np.uint64
    assert colour_distance(words, words).tolist() == [0, 0, 0]


def test_one_thumbnail_per_region_hashes_as_each_hash_alone():
    image = _drawing("red", "navy", box=(10, 12, 70, 40))
    box = (4.5, 3.25, 90.0, 60.75)
    sharp, soft = thumbnails(image, box, (0.0, 1.5))
    for mirrored in (False, True):
        assert hash_thumbnail(sharp, mirrored) == colour_hash(image, box, mirrored)
        assert hash_thumbnail(soft, mirrored) == colour_hash(image, box, mirrored, 1.5)
    assert hash_thumbnail(sharp, True) != hash_thumbnail(sharp) != hash_thumbnail(soft)

"""The texture signature: unchanged by what the web does to a picture, different for pictures
whose grain or edges differ, and its distance as documented."""

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from wit_pipeline.scoring.dedupe_rule import DedupeRule
from wit_pipeline.scoring.texture_signature import signature_distance, texture_signature

LIMIT = DedupeRule().max_texture_change


def _grey(image: Image.Image, side: int = 128) -> np.ndarray:
    """Grey pixels at the hashes' scale (the longer side `side`)."""
    small = image.convert("L")
    small.thumbnail((side, side), Image.Resampling.LANCZOS)
    return np.asarray(small)


def _distance(first: np.ndarray, second: np.ndarray) -> float:
    return float(
        signature_distance(
            np.array([texture_signature(first)], np.uint64),
            np.array([texture_signature(second)], np.uint64),
        )[0]
    )


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


EDITS = {
    "mirror": ImageOps.mirror,
    "crop 4%": lambda im: im.crop(
        (im.width * 0.04, im.height * 0.04, im.width * 0.96, im.height * 0.96)
    ),
    "jpeg q40": lambda im: _jpeg(im, 40),
    "brightness +15%": lambda im: ImageEnhance.Brightness(im).enhance(1.15),
    "resize 150%": lambda im: im.resize((im.width * 3 // 2, im.height * 3 // 2)),
}


@pytest.mark.parametrize("edit", EDITS)
def test_real_photos_keep_their_signature_through_an_edit(real_photos, edit):
    changes = []
    for data in real_photos.values():
        photo = Image.open(io.BytesIO(data)).convert("RGB")
        changes.append(_distance(_grey(photo), _grey(EDITS[edit](photo))))
    assert max(changes) <= LIMIT, (edit, max(changes))


def _backgrounds() -> dict[str, np.ndarray]:
    """The test web's kinds of background, 128 x 96 grey: speckled, striped, chequered."""
    rng = np.random.default_rng(0)
    rows, columns = np.mgrid[0:96, 0:128]
    return {
        "speckled": (128 + rng.integers(-40, 40, (96, 128))).astype(np.uint8),
        "striped": np.where((rows + columns) // 6 % 2, 200, 60).astype(np.uint8),
        "chequered": np.where((rows // 8 + columns // 8) % 2, 200, 60).astype(np.uint8),
    }


def test_backgrounds_that_hashes_confuse_have_distinct_signatures():
    backgrounds = _backgrounds()
    names = list(backgrounds)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            change = _distance(backgrounds[first], backgrounds[second])
            assert change > LIMIT, (first, second, change)


def test_a_mirror_has_the_same_signature_and_a_quarter_turn_another():
    striped = _backgrounds()["striped"]  # diagonal stripes: the mirror's run the other way
    assert _distance(striped, striped[:, ::-1]) == 0
    rows = np.mgrid[0:96, 0:96][0]
    level = np.where(rows // 6 % 2, 200, 60).astype(np.uint8)
    assert _distance(level, level.T) > LIMIT


def test_too_small_a_picture_has_the_empty_signature():
    assert texture_signature(np.zeros((2, 50), np.uint8)) == 0
    assert texture_signature(np.zeros((50, 2), np.uint8)) == 0


def test_distance_is_shares_l1_plus_the_ratio_step():
    first = int.from_bytes(bytes([255, 0, 0, 0, 0, 0, 0, 100]), "little")
    second = int.from_bytes(bytes([155, 100, 0, 0, 0, 0, 0, 90]), "little")
    got = signature_distance(np.array([first], np.uint64), np.array([second], np.uint64))
    assert got[0] == pytest.approx(200 / 255 + 10 / 127, abs=1e-6)

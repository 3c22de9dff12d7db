"""Padding search on real photographs: bands of any colour are found to the pixel, a picture
without padding keeps its frame, and the integer comparison agrees with the float rule."""

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REAL_PHOTOS
from wit_pipeline.scoring.borders import TOLERANCE, _bounds, _far_share, _median, padding_trimmed


def _photo() -> np.ndarray:
    with Image.open(REAL_PHOTOS / "skimage-chelsea.jpg") as opened:
        return np.asarray(opened.convert("RGB").resize((160, 120)))


@pytest.mark.parametrize("fill", [(0, 0, 0), (255, 255, 255), (30, 120, 200)])
@pytest.mark.parametrize("bands", [(20, 0), (0, 17), (9, 31)])
def test_bands_of_any_colour_are_cut_to_the_pixel(fill, bands):
    photo = _photo()
    vertical, horizontal = bands
    height, width = photo.shape[0] + 2 * vertical, photo.shape[1] + 2 * horizontal
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[:] = fill
    canvas[vertical : vertical + photo.shape[0], horizontal : horizontal + photo.shape[1]] = photo
    found = padding_trimmed(canvas, (0, 0, width, height))
    assert found == (horizontal, vertical, width - horizontal, height - vertical)


def test_a_photo_without_padding_keeps_its_frame():
    photo = _photo()
    assert padding_trimmed(photo, (0, 0, photo.shape[1], photo.shape[0])) is None


def test_a_band_on_one_side_only_is_part_of_the_picture():
    photo = _photo()
    canvas = np.concatenate([np.full((30, photo.shape[1], 3), 255, np.uint8), photo])
    assert padding_trimmed(canvas, (0, 0, canvas.shape[1], canvas.shape[0])) is None


@pytest.mark.parametrize("length", [1, 2, 7, 64, 65])
def test_median_and_far_share_agree_with_the_float_rule(length):
    rng = np.random.default_rng(length)
    lines = rng.integers(0, 256, (5, length, 3), dtype=np.uint8)
    lines[:, : length // 2] = rng.integers(100, 112, 3, dtype=np.uint8)  # near-uniform part
    colour = _median(lines[0])
    assert np.array_equal(colour, np.median(lines[0], axis=0))
    far = (np.abs(lines.astype(np.float64) - colour).max(axis=2) > TOLERANCE).mean(axis=1)
    assert np.array_equal(_far_share(lines, _bounds(colour, length)), far)

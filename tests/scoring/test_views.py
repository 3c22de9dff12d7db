"""Each edit the web makes to a picture, on real photographs: the copy still meets its original
(views matched and confirmed as the dedupe does), distinct photos do not, and the match says
which edit separates them."""

import io
import itertools

import numpy as np
import pytest
from PIL import Image

from wit_pipeline.scoring.dedupe import DedupeRule, Views, matched_pairs
from wit_pipeline.scoring.views import (
    CUT_4,
    MIRRORED,
    TEXTURED,
    TRIMMED,
    WHOLE,
    describe_match,
    picture_views,
)
from wit_pipeline.stages.download.image import inspect_image
from wit_pipeline.stages.download.unit import (
    SUCCESS,
    Outcome,
    ResizeOptions,
    make_backend,
    resize_outcome,
)
from wit_pipeline.stages.filter.sample_facts import decode, image_hashes, view_columns
from wit_pipeline.stages.filter.shard_views import views_of
from wit_pipeline.testweb.photo_edits import EDITS

PHOTOS = ("skimage-astronaut", "skimage-chelsea", "skimage-coffee", "matplotlib-grace_hopper")
CAT = "skimage-chelsea"
CAUGHT = [edit for edit in EDITS if edit != "greyscale"]
"""Every edit but greyscale (a grey copy's colour hash is another's: not caught)."""


def _downloaded_views(body: bytes) -> Views:
    """The views of an image as the pipeline sees it: the download stage's resize with its
    defaults, then the score phase's hashing."""
    header = inspect_image(body, "", 10**9)
    resized = resize_outcome(
        Outcome(SUCCESS, image=body, header=header), make_backend(ResizeOptions())
    )
    original = (resized.original_width, resized.original_height)
    return views_of(view_columns(image_hashes(decode(resized.image), original)[2]))


@pytest.fixture(scope="module")
def photo_views(real_photos):
    """Views of each photo and of each of its edited copies, by (photo, edit)."""
    views = {}
    for name in PHOTOS:
        data = real_photos[name]
        image = Image.open(io.BytesIO(data)).convert("RGB")
        views[(name, "original")] = _downloaded_views(data)
        for edit, apply in EDITS.items():
            views[(name, edit)] = _downloaded_views(apply(image))
    return views


def _match(first: Views, second: Views):
    both = Views.concat([first, second.shifted(1)])
    return matched_pairs(both, DedupeRule())


@pytest.mark.parametrize("edit", CAUGHT)
def test_every_edit_of_a_real_photo_meets_its_original(photo_views, edit):
    for name in PHOTOS:
        matches = _match(photo_views[(name, "original")], photo_views[(name, edit)])
        assert matches.pairs.tolist() == [[0, 1]], (name, edit)


def test_distinct_photos_do_not_match(photo_views):
    for first, second in itertools.combinations(PHOTOS, 2):
        for edit in ("original", "mirror", "crop_3", "pad_square_white"):
            matches = _match(photo_views[(first, "original")], photo_views[(second, edit)])
            assert matches.pairs.size == 0, (first, second, edit)


def test_the_match_names_the_edit(photo_views):
    expected = {
        "jpeg_q75": "same framing",
        "mirror": "same framing, mirrored",
        "pad_square_white": "padding",
        "crop_8": "crop 8%",
    }
    for edit, text in expected.items():
        matches = _match(photo_views[(CAT, "original")], photo_views[(CAT, edit)])
        assert describe_match(*matches.kinds[0].tolist()) == text, edit


def test_a_watermark_over_a_dark_photo_is_caught_by_the_centres(real_photos):
    # The label moves the whole picture's pHash by 14 bits; its 4% and 8% crops agree.
    data = real_photos["skimage-hubble_deep_field"]
    marked = EDITS["watermark"](Image.open(io.BytesIO(data)).convert("RGB"))
    matches = _match(_downloaded_views(data), _downloaded_views(marked))
    assert matches.pairs.tolist() == [[0, 1]]
    assert describe_match(*matches.kinds[0].tolist()) == "edges differ"


def test_a_textured_photo_has_all_its_views_and_a_flat_drawing_one():
    photo = Image.effect_mandelbrot((320, 240), (-2.0, -1.2, 1.0, 1.2), 100).convert("RGB")
    noise = np.random.default_rng(0).integers(0, 60, (240, 320, 3), dtype=np.uint8)
    textured = Image.fromarray(np.asarray(photo) // 2 + noise)
    padded = Image.new("RGB", (320, 320), "white")
    padded.paste(textured, (0, 40))
    kinds = [v.kind & ~MIRRORED for v in picture_views(padded)]
    assert {WHOLE | TEXTURED, TRIMMED | TEXTURED, CUT_4 | TEXTURED} <= set(kinds)
    drawing = Image.new("RGB", (320, 240), "white")
    drawing.paste("red", (100, 80, 180, 160))
    assert [v.kind for v in picture_views(drawing)] == [WHOLE]

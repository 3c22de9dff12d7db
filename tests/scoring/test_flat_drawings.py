"""Flat drawings (logos, icons, diagrams: a few shapes on a plain background) re-encoded, shrunk
or brightened as the web does: each copy still meets its original through the dedupe's views,
colour and texture checks, and distinct drawings do not meet."""

import io
import random

import numpy as np
import pytest
from PIL import Image, ImageDraw

from wit_pipeline.scoring.dedupe import DedupeRule, Views, matched_pairs
from wit_pipeline.scoring.views import TEXTURED
from wit_pipeline.stages.download.image import inspect_image
from wit_pipeline.stages.download.unit import (
    SUCCESS,
    Outcome,
    ResizeOptions,
    make_backend,
    resize_outcome,
)
from wit_pipeline.stages.filter.sample_facts import decode, image_facts
from wit_pipeline.stages.filter.shard_views import views_of
from wit_pipeline.testweb.photo_edits import EDITS

COPIES = ("jpeg_q40", "webp", "resize_50", "resize_150", "thumbnail_128", "brightness_+15")
PALETTE = [(255, 255, 255), (20, 40, 120), (200, 30, 30), (30, 140, 60), (240, 200, 40), (0, 0, 0)]


def _drawing(rng: random.Random) -> Image.Image:
    """A few filled shapes on a plain background, as a PNG would carry a logo."""
    width, height = rng.choice([(400, 300), (300, 300), (320, 480)])
    background = rng.choice(PALETTE)
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(1, 3)):
        fill = rng.choice([c for c in PALETTE if c != background])
        left, top = rng.randint(0, width // 2), rng.randint(0, height // 2)
        box = (left, top, left + rng.randint(width // 6, width // 2), top + height // 3)
        [draw.ellipse, draw.rectangle][rng.randint(0, 1)](box, fill=fill)
    return image


def _downloaded_views(body: bytes) -> Views:
    header = inspect_image(body, "", 10**9)
    resized = resize_outcome(
        Outcome(SUCCESS, image=body, header=header), make_backend(ResizeOptions())
    )
    original = (resized.original_width, resized.original_height)
    return views_of(image_facts(decode(resized.image), original))


@pytest.fixture(scope="module")
def drawings() -> tuple[Views, list[tuple[int, str]]]:
    """Views of 8 drawings, each as a PNG and as each copy, and (drawing, version) per sample."""
    rng = random.Random(3)
    parts, labels = [], []
    for number in range(8):
        image = _drawing(rng)
        png = io.BytesIO()
        image.save(png, "PNG")
        versions = {"original": png.getvalue()} | {e: EDITS[e](image) for e in COPIES}
        for version, body in versions.items():
            parts.append(_downloaded_views(body).shifted(len(labels)))
            labels.append((number, version))
    return Views.concat(parts), labels


def test_drawings_are_flat(drawings):
    views, _ = drawings
    assert not (views.kind & TEXTURED).any()


def test_each_copy_meets_its_original_and_no_other_drawing(drawings):
    views, labels = drawings
    pairs = {tuple(p) for p in matched_pairs(views, DedupeRule()).pairs.tolist()}
    originals = {number: at for at, (number, version) in enumerate(labels) if version == "original"}
    missed = [
        (number, version)
        for at, (number, version) in enumerate(labels)
        if version != "original" and (originals[number], at) not in pairs
    ]
    assert not missed
    drawing = np.array([number for number, _ in labels])
    assert all(drawing[a] == drawing[b] for a, b in pairs)

"""Pixels: images show what their labels say, duplicates look alike, bytes are reproducible."""

import io

import numpy as np
import pytest
from PIL import Image

from wit_pipeline.testweb import SyntheticWeb, WebConfig
from wit_pipeline.testweb.plan import build_plan
from wit_pipeline.testweb.vocab import COLOURS

from .helpers import decoded


def _pixels(body: bytes, mode: str = "RGBA") -> np.ndarray:
    with Image.open(io.BytesIO(body)) as image:
        return np.asarray(image.convert(mode), dtype=np.float32)


def test_main_object_has_its_named_colour_at_its_centre(testweb_web):
    checked = 0
    for spec in testweb_web.plan.images:
        scene, enc = spec.scene, spec.encoding
        if (
            scene is None
            or spec.variant is not None
            or scene.layout != "single"
            or scene.monochrome
            or scene.main.shape in ("ring", "crescent")
            or scene.main.radius * min(enc.width, enc.height) < 6
        ):
            continue
        pixels = _pixels(testweb_web.image_bytes(spec.id))
        x, y = round(scene.main.x * enc.width), round(scene.main.y * enc.height)
        centre = pixels[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 4).mean(axis=0)
        assert np.abs(centre[:3] - COLOURS[scene.main.colour]).max() < 40, spec.path
        assert centre[3] == 255
        checked += 1
    assert checked >= 5


def test_transparent_backgrounds_are_transparent(testweb_web):
    rgba = [s for s in testweb_web.plan.images if s.encoding.mode == "RGBA" and s.scene]
    assert rgba
    for spec in rgba:
        alpha = _pixels(testweb_web.image_bytes(spec.id))[..., 3]
        assert alpha.min() == 0 and alpha.max() == 255


def test_backgrounds_of_every_kind_are_drawn():
    scenes = [s.scene for s in build_plan(WebConfig(pages=10)).images if s.scene]
    kinds = {s.background.kind for s in scenes}
    patterns = {s.background.pattern for s in scenes if s.background.kind == "texture"}
    assert kinds == {"plain", "gradient", "texture", "transparent"}
    assert patterns == {"stripes", "checks", "speckles"}


def _duplicates(web, kind):
    found = [s for s in web.plan.images if s.dup_kind == kind]
    assert found, f"no {kind} duplicate"
    return [(s, web.plan.images[s.variant.source]) for s in found]


def test_exact_duplicates_are_byte_identical(testweb_web):
    for dup, source in _duplicates(testweb_web, "exact"):
        assert dup.path != source.path
        assert testweb_web.image_bytes(dup.id) == testweb_web.image_bytes(source.id)


@pytest.mark.parametrize("kind", ["reencode", "resize", "crop", "brightness"])
def test_near_duplicates_look_alike_but_differ(testweb_web, kind):
    for dup, source in _duplicates(testweb_web, kind):
        dup_bytes, source_bytes = (
            testweb_web.image_bytes(dup.id),
            testweb_web.image_bytes(source.id),
        )
        assert dup_bytes != source_bytes
        fmt, width, height, _ = decoded(dup_bytes)
        assert (fmt, width, height) == (dup.encoding.fmt, dup.encoding.width, dup.encoding.height)
        small = [
            np.asarray(Image.open(io.BytesIO(b)).convert("L").resize((32, 32)), dtype=np.float32)
            for b in (dup_bytes, source_bytes)
        ]
        assert np.abs(small[0] - small[1]).mean() < 30
        if kind in ("resize", "crop"):
            assert (width, height) != (source.encoding.width, source.encoding.height)
        if kind == "brightness":
            assert (small[0].mean() > small[1].mean()) == (dup.variant.factor > 1)


def test_same_seed_same_bytes_other_seed_other_bytes(testweb_web, testweb_config):
    again = SyntheticWeb(testweb_config)
    ids = [s.id for s in testweb_web.plan.images]
    assert all(again.image_bytes(i) == testweb_web.image_bytes(i) for i in ids)
    other = SyntheticWeb(WebConfig(seed=1, pages=testweb_config.pages))
    assert sum(other.image_bytes(i) != testweb_web.image_bytes(i) for i in ids[:10]) >= 9

"""Per-slot draws: an image's size, encoding, scene, caption and page markup, each image from
its own seeded stream so any image can be planned or rendered alone."""

from __future__ import annotations

import numpy as np

from . import rand
from .captions import caption
from .config import WebConfig
from .scene import Scene, concept_weights, random_scene
from .specs import Encoding
from .vocab import LANGUAGES

_RATIOS = (1.0, 1.0, 4 / 3, 3 / 2, 16 / 9, 5 / 4, 2.0)
_FORMATS = {"jpeg": 0.5, "png": 0.3, "webp": 0.2}
_MODES = {
    "jpeg": {"RGB": 0.9, "L": 0.1},
    "png": {"RGB": 0.5, "RGBA": 0.3, "L": 0.2},
    "webp": {"RGB": 0.85, "RGBA": 0.15},
}
COVERAGE = (
    ("jpeg", "RGB"),
    ("jpeg", "L"),
    ("png", "RGB"),
    ("png", "RGBA"),
    ("png", "L"),
    ("webp", "RGB"),
    ("webp", "RGBA"),
)
"""Every (format, mode) pair the web serves; the plan forces each onto one image."""
_MARKUP = {
    "img_alt": 0.45,
    "figure": 0.15,
    "srcset": 0.1,
    "data_src": 0.1,
    "in_link": 0.1,
    "title": 0.1,
}
_URL_FORMS = {"root_relative": 0.3, "relative": 0.25, "absolute": 0.25, "protocol_relative": 0.2}
_ENTITY_WEIGHTS = {"raw": 0.6, "named": 0.2, "numeric": 0.2}
CAPTION_SOURCES = {
    "img_alt": "alt",
    "img": "none",
    "figure": "figcaption",
    "srcset": "alt",
    "data_src": "alt",
    "in_link": "alt",
    "title": "title",
}


def _size(rng: np.random.Generator, noise: str, large_share: float) -> tuple[int, int]:
    if noise == "too_small":
        long = rand.integer(rng, 12, 39)
        short = rand.integer(rng, 8, long)
    elif noise == "extreme_aspect":
        long = rand.integer(rng, 800, 1600)
        short = max(24, round(long / rand.uniform(rng, 10.0, 28.0)))
    else:
        u = rng.random()
        if u < large_share:
            long = rand.integer(rng, 800, 1600)
        elif u < large_share + 0.25:
            long = rand.integer(rng, 320, 799)
        else:
            long = rand.integer(rng, 64, 319)
        short = min(long, max(48, round(long / rand.pick(rng, _RATIOS))))
    return (long, short) if rng.random() < 0.6 else (short, long)


def draw_image(
    rng: np.random.Generator, config: WebConfig, noise: str, forced: tuple[str, str] | None
) -> tuple[Encoding, Scene]:
    """The encoding and scene of a freshly drawn image; `forced` fixes (format, mode)."""
    width, height = _size(rng, noise, config.large_share)
    fmt = rand.weighted(rng, _FORMATS)
    mode = rand.weighted(rng, _MODES[fmt])
    fmt, mode = forced or (fmt, mode)
    encoding = Encoding(fmt, mode, width, height, quality=rand.integer(rng, 70, 95))
    weights = concept_weights(config.concept_skew)
    scene = random_scene(rng, width, height, mode == "RGBA", mode == "L", weights)
    return encoding, scene


def draw_caption(rng: np.random.Generator, config: WebConfig, scene: Scene) -> tuple[str, str]:
    """A language (English unless the foreign share says otherwise) and a caption in it."""
    lang = "en" if rng.random() >= config.foreign_share else rand.pick(rng, LANGUAGES[1:])
    return lang, caption(scene, lang, rng)


def draw_reference(rng: np.random.Generator, base_href: bool) -> tuple[str, str, str]:
    """How a page refers to an image: markup, URL form and entity style."""
    markup = rand.weighted(rng, _MARKUP)
    url_form = rand.weighted(rng, _URL_FORMS)
    if base_href and url_form == "relative":
        url_form = "base_href"
    return markup, url_form, rand.weighted(rng, _ENTITY_WEIGHTS)

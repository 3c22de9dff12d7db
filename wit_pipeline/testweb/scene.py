"""Random scenes: which shapes, in which colours, where, on which background.

A scene is pure description in relative coordinates; `draw` turns it into pixels at any size,
and `captions` into words, so the two always agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import rand
from .vocab import COLOURS, SHAPES

_PLAIN_WEIGHTS = {name: 1.0 for name in COLOURS} | {"grey": 4.0, "white": 4.0, "black": 2.0}
_MIN_CONTRAST = 120.0


@dataclass(frozen=True)
class SceneObject:
    """One shape: centre as fractions of width and height, radius relative to the short side."""

    shape: str
    colour: str
    x: float
    y: float
    radius: float
    angle: float


@dataclass(frozen=True)
class Background:
    """What lies behind the objects: plain, gradient, texture (stripes/checks/speckles) or none."""

    kind: str
    colours: tuple[str, ...]
    pattern: str | None = None
    angle: float = 0.0
    period: float = 0.1


@dataclass(frozen=True)
class Scene:
    """A picture to draw and caption; `layout` is single, group (same shape) or pair."""

    layout: str
    objects: tuple[SceneObject, ...]
    background: Background
    monochrome: bool
    texture_seed: int

    @property
    def main(self) -> SceneObject:
        """The object a single label describes (the first one)."""
        return self.objects[0]

    @property
    def size_word(self) -> str | None:
        """'small' or 'large' when the main object clearly is, else None."""
        if self.main.radius < 0.2:
            return "small"
        return "large" if self.main.radius > 0.3 else None

    @property
    def position_word(self) -> str:
        """Where the main object sits horizontally: left, right or middle."""
        if self.main.x < 0.35:
            return "left"
        return "right" if self.main.x > 0.65 else "middle"


def _distance(a: str, b: str) -> float:
    return math.dist(COLOURS[a], COLOURS[b])


def _background(rng: np.random.Generator, transparent: bool) -> Background:
    if transparent:
        return Background("transparent", ())
    kind = rand.weighted(rng, {"plain": 0.5, "gradient": 0.25, "texture": 0.25})
    if kind == "plain":
        return Background("plain", (rand.weighted(rng, _PLAIN_WEIGHTS),))
    first = rand.weighted(rng, _PLAIN_WEIGHTS)
    second = rand.pick(rng, [c for c in COLOURS if c != first])
    pattern = rand.pick(rng, ("stripes", "checks", "speckles")) if kind == "texture" else None
    return Background(
        kind,
        (first, second),
        pattern,
        angle=rand.uniform(rng, 0.0, 180.0),
        period=rand.uniform(rng, 0.04, 0.12),
    )


def _object_colours(background: Background, exclude: str | None = None) -> list[str]:
    return [
        c
        for c in COLOURS
        if c != exclude and all(_distance(c, b) >= _MIN_CONTRAST for b in background.colours)
    ]


def _place(
    rng: np.random.Generator, radius: float, width: int, height: int, taken: list[SceneObject]
) -> tuple[float, float]:
    short = min(width, height)
    margin_x = min(0.5, radius * short / width)
    margin_y = min(0.5, radius * short / height)
    x = y = 0.5
    for _ in range(30):
        x = rand.uniform(rng, margin_x, 1.0 - margin_x)
        y = rand.uniform(rng, margin_y, 1.0 - margin_y)
        if all(
            math.dist((x * width, y * height), (o.x * width, o.y * height))
            >= (o.radius + radius) * short * 0.9
            for o in taken
        ):
            break
    return x, y


def concept_weights(skew: float) -> dict[str, float] | None:
    """The concepts' Zipf weights: within the shapes (SHAPES order) and within the colours
    (COLOURS order), rank r (from 1) is drawn in proportion to 1 / r**skew; None for a skew of 0
    (both drawn uniformly, as the default pool is)."""
    if skew == 0:
        return None
    weights = {shape: 1.0 / rank**skew for rank, shape in enumerate(SHAPES, 1)}
    weights.update({colour: 1.0 / rank**skew for rank, colour in enumerate(COLOURS, 1)})
    return weights


def _draw(rng: np.random.Generator, names: list[str], weights: dict[str, float] | None) -> str:
    """One of `names`, uniformly or by `weights`."""
    if weights is None:
        return rand.pick(rng, names)
    return rand.weighted(rng, {name: weights[name] for name in names})


def random_scene(
    rng: np.random.Generator,
    width: int,
    height: int,
    transparent: bool,
    monochrome: bool,
    weights: dict[str, float] | None = None,
) -> Scene:
    """A scene for an image of `width` x `height`, drawn entirely from `rng`; `weights` skews
    the shapes and colours (`concept_weights`; None: uniform)."""
    background = _background(rng, transparent)
    layout = rand.weighted(rng, {"single": 0.55, "group": 0.25, "pair": 0.2})
    first_shape = _draw(rng, list(SHAPES), weights)
    first_colour = _draw(rng, _object_colours(background), weights)
    if layout == "single":
        kinds = [(first_shape, first_colour)]
    elif layout == "group":
        kinds = [(first_shape, first_colour)] * rand.integer(rng, 2, 4)
    else:
        second_shape = _draw(rng, [s for s in SHAPES if s != first_shape], weights)
        kinds = [
            (first_shape, first_colour),
            (second_shape, _draw(rng, _object_colours(background, first_colour), weights)),
        ]
    low, high = (0.12, 0.42) if layout == "single" else (0.08, 0.2)
    objects: list[SceneObject] = []
    for shape, colour in kinds:
        radius = rand.uniform(rng, low, high)
        x, y = _place(rng, radius, width, height, objects)
        spread = 25.0 if shape == "heart" else 180.0
        angle = rand.uniform(rng, -spread, spread)
        objects.append(SceneObject(shape, colour, x, y, radius, angle))
    return Scene(
        layout=layout,
        objects=tuple(objects),
        background=background,
        monochrome=monochrome,
        texture_seed=rand.integer(rng, 0, 2**31 - 1),
    )

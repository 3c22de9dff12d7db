"""Seeded random streams: every image, page and plan step draws from its own generator.

Deriving a generator from (seed, stream, index) keeps each image independent of the order in
which images are rendered, so a server can render any image on demand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")

PLAN = 1
SLOT = 2
PAGE = 3
TEXTURE = 4
CORRUPT = 6


def stream(seed: int, kind: int, index: int = 0) -> np.random.Generator:
    """An independent generator for one (seed, stream kind, index)."""
    return np.random.default_rng([seed, kind, index])


def pick(rng: np.random.Generator, items: Sequence[T]) -> T:
    """One item of `items`, uniformly."""
    return items[int(rng.integers(len(items)))]


def weighted(rng: np.random.Generator, weights: Mapping[T, float]) -> T:
    """One key of `weights`, with probability proportional to its value."""
    keys = list(weights)
    probs = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=probs / probs.sum()))]


def uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """A float in [low, high)."""
    return float(rng.uniform(low, high))


def integer(rng: np.random.Generator, low: int, high: int) -> int:
    """An int in [low, high] (both ends included)."""
    return int(rng.integers(low, high + 1))

"""Scoring: CLIP scores, perceptual and colour hashes, the near-duplicate index and dedupe.

`near_duplicate_pairs` loads on first use, so that importing a light submodule (the dedupe
rule the command line shows) does not load numba, numpy and scipy.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["near_duplicate_pairs"]


def __getattr__(name: str) -> Any:
    """`near_duplicate_pairs`, imported the first time it is asked for."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(".near_duplicates", __name__), name)
    globals()[name] = value
    return value

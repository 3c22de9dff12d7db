"""A small CLIP trainer that streams WebDataset shards: an open_clip ViT + text transformer of a
few million parameters, CLIP's contrastive loss, exact resume, zero-shot/retrieval/linear-probe
evaluation and export as an open_clip `local-dir:` folder.

    from train_small import TrainConfig, train, evaluate, export_local_dir
    result = train(TrainConfig(shards="wit-data/shards", out_dir="runs/a"))
    metrics = evaluate(result.checkpoint, "eval-shards")
    export_local_dir(result.checkpoint, "runs/a/export")

The names are loaded on first use, so that reading the options (`train_small.cli`) does not
import torch: every `wit-pipeline` command registers `train`'s options.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TrainConfig": "config",
    "TrainResult": "config",
    "evaluate": "evaluation",
    "export_local_dir": "export",
    "train": "trainer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """The public name `name`, imported from its module the first time it is asked for."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value

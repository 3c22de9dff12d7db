"""A small CLIP trainer that streams WebDataset shards: an open_clip ViT + text transformer of a
few million parameters, CLIP's contrastive loss, exact resume, zero-shot/retrieval/linear-probe
evaluation and export as an open_clip `local-dir:` folder.

    from train_small import TrainConfig, train, evaluate, export_local_dir
    result = train(TrainConfig(shards="wit-data/shards", out_dir="runs/a"))
    metrics = evaluate(result.checkpoint, "eval-shards")
    export_local_dir(result.checkpoint, "runs/a/export")
"""

from importlib import import_module
from typing import Any

from .config import TrainConfig, TrainResult

_LAZY = {"evaluate": ".evaluate", "export_local_dir": ".export", "train": ".trainer"}
"""Loaded on first use, so `wit-pipeline` commands that never train do not import torch."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["TrainConfig", "TrainResult", "evaluate", "export_local_dir", "train"]

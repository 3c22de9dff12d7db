"""A small CLIP trainer that streams WebDataset shards: an open_clip ViT + text transformer of a
few million parameters, CLIP's contrastive loss, exact resume, zero-shot/retrieval/linear-probe
evaluation and export as an open_clip `local-dir:` folder.

    from train_small import TrainConfig, train, evaluate, export_local_dir
    result = train(TrainConfig(shards="wit-data/shards", out_dir="runs/a"))
    metrics = evaluate(result.checkpoint, "eval-shards")
    export_local_dir(result.checkpoint, "runs/a/export")
"""

from .config import TrainConfig, TrainResult
from .evaluate import evaluate
from .export import export_local_dir
from .trainer import train

__all__ = ["TrainConfig", "TrainResult", "evaluate", "export_local_dir", "train"]

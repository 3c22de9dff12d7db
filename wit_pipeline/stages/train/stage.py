"""The train stage's entry point: train_small, resuming W/train when it holds a run."""

from __future__ import annotations

import argparse

from train_small.cli import train_from_args
from train_small.config import TrainResult
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.executor import Engine
from wit_pipeline.core.workspace import Workspace


def run(workspace: Workspace, options, engine: Engine) -> TrainResult:
    """Train on W/shards into W/train (unless the options name others), then evaluate and
    export if asked."""
    values = vars(options).copy()
    values["shards"] = values["shards"] or str(workspace.shards_dir)
    values["out_dir"] = values["out_dir"] or str(workspace.root / "train")
    try:
        return train_from_args(argparse.Namespace(**values, quiet=not engine.progress))
    except (ValueError, FileNotFoundError) as exc:
        raise InputError(f"train: {exc}") from exc

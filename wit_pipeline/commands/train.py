"""`wit-pipeline train`: train_small on the workspace's shards (or any shards), as a stage."""

from __future__ import annotations

import argparse

from wit_pipeline.commands.common import add_command, stage_handler
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.executor import Engine
from wit_pipeline.core.workspace import Workspace

NAME = "train"
HELP = "train a small CLIP on the shards (train_small), evaluate and export it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """train_small's options; shards and run folder default to the workspace's."""
    from train_small.cli import add_train_arguments

    add_train_arguments(parser, in_workspace=True)


def run_stage(workspace: Workspace, args: argparse.Namespace, engine: Engine):
    """Train (resuming W/train when it holds a run), then evaluate and export if asked."""
    from train_small.cli import train_from_args

    defaults = {"shards": str(workspace.shards_dir), "out_dir": str(workspace.root / "train")}
    chosen = {key: getattr(args, key) or value for key, value in defaults.items()}
    try:
        return train_from_args(argparse.Namespace(**{**vars(args), **chosen}))
    except (ValueError, FileNotFoundError) as exc:
        raise InputError(f"train: {exc}") from exc


def register(sub: argparse._SubParsersAction) -> None:
    """Add the command to the top-level parser."""
    add_arguments(add_command(sub, NAME, HELP, stage_handler(run_stage)))

"""Train stage: train_small on the workspace's shards as a pipeline stage. Its options are
train_small's own flags; shards and run folder default to the workspace's."""

from __future__ import annotations

import argparse

from train_small.cli import add_train_arguments, config_from_args
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.options import options_from_parser
from wit_pipeline.core.stage import Stage


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    add_train_arguments(parser, in_workspace=True)


def _validate(self) -> None:
    """train_small's own checks of the recipe (shards and run folder aside)."""
    values = {**vars(self), "shards": self.shards or "-", "out_dir": self.out_dir or "-"}
    try:
        config_from_args(argparse.Namespace(**values))
    except ValueError as exc:
        raise InputError(f"train: {exc}") from exc


Options = options_from_parser("Options", _add_arguments)
Options.__module__ = __name__
Options.validate = _validate

HELP = "train a small CLIP on the shards (train_small), evaluate and export it"
STAGE = Stage("train", HELP, Options, f"{__name__}.stage:run", optional=True)
__all__ = ["STAGE", "Options"]

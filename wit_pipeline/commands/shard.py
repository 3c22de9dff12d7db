"""`wit-pipeline shard` and `verify-shards`: the kept samples as WebDataset shards, checked."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wit_pipeline.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    add_command,
    positive_int,
    stage_handler,
)
from wit_pipeline.core import storage
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.executor import Engine
from wit_pipeline.core.workspace import Workspace

NAME = "shard"
HELP = "write the kept samples as shuffled WebDataset shards"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The stage's options: flags on the command line, keys of its section in a run config."""
    parser.add_argument(
        "--samples-per-shard",
        type=positive_int,
        default=10_000,
        help="samples per shard; every shard is full but the last (default: 10000)",
    )
    parser.add_argument("--seed", type=int, default=0, help="shuffle seed (default: 0)")
    parser.add_argument(
        "--out",
        metavar="PATH",
        help="output folder: a path or an fsspec URL such as s3://bucket/shards "
        "(default: W/shards)",
    )
    parser.add_argument(
        "--processes", type=positive_int, default=1, help="shards written at once (default: 1)"
    )


def run_stage(workspace: Workspace, args: argparse.Namespace, engine: Engine):
    """Write the kept samples as shuffled WebDataset shards with sizes.json and a manifest."""
    from wit_pipeline.stages.shard import write_shards

    return write_shards(
        workspace,
        samples_per_shard=args.samples_per_shard,
        seed=args.seed,
        out=args.out,
        processes=args.processes,
        progress=not args.quiet,
        engine=engine,
    )


def _workspace_of(path: str, workdir: str | None) -> Workspace | None:
    """The workspace to check the shards against: `--workdir` when given, else the folder
    holding a local shards folder; None when it has no decisions."""
    if workdir is not None:
        workspace = Workspace(Path(workdir))
    elif storage.is_local(path):
        workspace = Workspace(storage.local_path(path).resolve().parent)
    else:
        return None
    return workspace if workspace.decisions_path.is_file() else None


def cmd_verify_shards(args: argparse.Namespace) -> int:
    """Check shards: tar integrity, counts, keys; inside a workspace, the kept samples."""
    from wit_pipeline.stages.shard import verify_shards

    path = args.path
    if not storage.is_dir(path):
        raise InputError(f"{path}: not a folder of shards")
    problems = verify_shards(path, _workspace_of(path, args.workdir))
    for problem in problems:
        print(problem, file=sys.stderr)
    if not args.quiet:
        verdict = "ok" if not problems else f"{len(problems)} problems"
        print(f"{path}: {verdict}")
    return EXIT_FAILED if problems else EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `shard` and `verify-shards` to the top-level parser."""
    add_arguments(add_command(sub, NAME, HELP, stage_handler(run_stage)))
    verify = add_command(
        sub,
        "verify-shards",
        "check a folder of shards (and, inside a "
        "workspace, that it holds exactly the kept samples)",
        cmd_verify_shards,
    )
    verify.add_argument("path", help="the shards folder (a path or an fsspec URL)")

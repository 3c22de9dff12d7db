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
    parser.add_argument("--out", metavar="PATH", help="output folder (default: W/shards)")
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


def cmd_verify_shards(args: argparse.Namespace) -> int:
    """Check shards: tar integrity, counts, keys; inside a workspace, the kept samples."""
    from wit_pipeline.stages.shard import verify_shards

    path = Path(args.path)
    if not path.is_dir():
        raise InputError(f"{path}: not a folder of shards")
    inside = Workspace(path.parent)
    problems = verify_shards(path, inside if inside.decisions_path.is_file() else None)
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
    verify.add_argument("path", help="the shards folder")

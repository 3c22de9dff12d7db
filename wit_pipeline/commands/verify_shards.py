"""`wit-pipeline verify-shards PATH`: check a folder of shards (and, inside a workspace, that it
holds exactly the kept samples)."""

from __future__ import annotations

import argparse
import sys

from wit_pipeline.commands.common import EXIT_FAILED, EXIT_OK, add_command
from wit_pipeline.core import storage
from wit_pipeline.core.errors import InputError, printable
from wit_pipeline.core.workspace import Workspace


def _workspace_of(path: str, workdir: str | None) -> Workspace | None:
    """The workspace to check the shards against: `--workdir` when given, else the folder
    holding a local shards folder; None when it has no decisions."""
    if workdir is not None:
        workspace = Workspace.at(workdir)
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
        print(printable(problem), file=sys.stderr)
    if not args.quiet:
        verdict = "ok" if not problems else f"{len(problems)} problems"
        print(f"{path}: {verdict}")
    return EXIT_FAILED if problems else EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `verify-shards` to the top-level parser."""
    verify = add_command(
        sub,
        "verify-shards",
        "check a folder of shards (and, inside a "
        "workspace, that it holds exactly the kept samples)",
        cmd_verify_shards,
    )
    verify.add_argument("path", help="the shards folder (a path or an fsspec URL)")

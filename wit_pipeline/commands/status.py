"""`wit-pipeline status`: what each stage of the workspace holds and what to run next."""

from __future__ import annotations

import argparse
import json

from wit_pipeline.commands.common import EXIT_OK, add_command
from wit_pipeline.core.status import format_status, next_command, status_as_dicts
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.status import workspace_status


def cmd_status(args: argparse.Namespace) -> int:
    """Print what each stage folder of the workspace holds."""
    workspace = Workspace.at(args.workdir)
    statuses = workspace_status(workspace)
    if args.json:
        print(
            json.dumps(
                {
                    "workspace": workspace.name,
                    "exists": workspace.exists(),
                    "stages": status_as_dicts(statuses),
                    "next": next_command(statuses),
                },
                indent=2,
            )
        )
    else:
        print(format_status(workspace, statuses))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `status` to the top-level parser."""
    status = add_command(sub, "status", "show what each stage of the workspace holds", cmd_status)
    status.add_argument("--json", action="store_true", help="machine-readable output")

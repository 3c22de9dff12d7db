"""`wit-pipeline report`: one self-contained HTML page about the dataset (W/report/index.html)."""

from __future__ import annotations

import argparse
from pathlib import Path

from wit_pipeline.commands.common import add_command, positive_int, stage_handler
from wit_pipeline.core.executor import Engine
from wit_pipeline.core.workspace import Workspace

NAME = "report"
HELP = (
    "write W/report/index.html: funnel, CLIP scores, sizes, captions, download errors, "
    "duplicates, samples, timings, training"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The report's options: flags on the command line, keys of its section in a run config."""
    parser.add_argument(
        "--out", metavar="FILE", help="where to write (default: W/report/index.html)"
    )
    parser.add_argument(
        "--samples-per-reason",
        type=positive_int,
        default=8,
        help="samples shown for kept and for each drop reason (default: 8)",
    )
    parser.add_argument(
        "--duplicate-groups",
        type=positive_int,
        default=10,
        help="largest duplicate groups shown (default: 10)",
    )
    parser.add_argument(
        "--top-hosts",
        type=positive_int,
        default=15,
        help="hosts listed by failed downloads (default: 15)",
    )


def run_stage(workspace: Workspace, args: argparse.Namespace, engine: Engine):
    """Write the report of the workspace, whatever stages it holds so far."""
    from wit_pipeline.report import ReportOptions, build_report

    return build_report(
        workspace,
        ReportOptions(
            out=Path(args.out) if args.out else None,
            samples_per_reason=args.samples_per_reason,
            duplicate_groups=args.duplicate_groups,
            top_hosts=args.top_hosts,
            progress=not args.quiet,
        ),
    )


def register(sub: argparse._SubParsersAction) -> None:
    """Add `report` to the top-level parser."""
    add_arguments(add_command(sub, NAME, HELP, stage_handler(run_stage)))

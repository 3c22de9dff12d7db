"""Commands about the workspace and its contracts: status, validate, schema."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from wit_pipeline.commands.common import EXIT_OK, EXIT_USAGE, add_command
from wit_pipeline.core.schemas import TABLES, load_schema
from wit_pipeline.core.status import (
    format_status,
    next_command,
    status_as_dicts,
    workspace_status,
)
from wit_pipeline.core.validate import validate_input
from wit_pipeline.core.workspace import Workspace


def cmd_status(args: argparse.Namespace) -> int:
    """Print what each stage folder of the workspace holds."""
    workspace = Workspace.at(args.workdir)
    statuses = workspace_status(workspace)
    if args.json:
        print(
            json.dumps(
                {
                    "workspace": str(workspace.root),
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


def cmd_validate(args: argparse.Namespace) -> int:
    """Check input files against a table contract; print every problem, one per line."""
    schema = load_schema(args.table)
    required = args.require.split(",") if args.require else None
    reports = validate_input(Path(args.path), schema, required)
    problems = [p for r in reports for p in r.problems]
    for problem in problems:
        print(problem, file=sys.stderr)
    rows = sum(r.rows for r in reports)
    verdict = "invalid" if problems else "valid"
    if not args.quiet:
        print(
            f"{args.path}: {verdict} as '{args.table}': {len(reports)} files, {rows:,} rows, "
            f"{len(problems)} problems"
        )
    return EXIT_USAGE if problems else EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    """Print a table contract: columns, Arrow types, nullability, meaning."""
    schema = load_schema(args.table)
    print(f"{schema.name}: {schema.description}")
    for f in schema.fields:
        flags = ("required " if f.required else "") + ("nullable" if f.nullable else "not null")
        print(f"  {f.name:<16} {f.type!s:<14} {flags:<18} {f.description}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add status, validate and schema to the top-level parser."""
    status = add_command(sub, "status", "show what each stage of the workspace holds", cmd_status)
    status.add_argument("--json", action="store_true", help="machine-readable output")

    validate = add_command(
        sub, "validate", "check an input file or folder against a table contract", cmd_validate
    )
    validate.add_argument("path", help="a .parquet, .csv, .tsv or .jsonl file, or a folder")
    validate.add_argument(
        "--table",
        choices=TABLES,
        default="pairs",
        help="contract to check against (default: pairs)",
    )
    validate.add_argument(
        "--require",
        metavar="COLS",
        help="comma-separated columns that must exist (default: the contract's)",
    )

    schema = add_command(sub, "schema", "print a table contract", cmd_schema)
    schema.add_argument("table", choices=TABLES)

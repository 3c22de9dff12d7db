"""`wit-pipeline validate PATH`: check an input against a table contract, one line per problem."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wit_pipeline.commands.common import EXIT_OK, EXIT_USAGE, add_command
from wit_pipeline.core.errors import printable
from wit_pipeline.core.schemas import TABLES, load_schema
from wit_pipeline.core.validate import validate_input


def cmd_validate(args: argparse.Namespace) -> int:
    """Check input files against a table contract; print every problem, one per line."""
    schema = load_schema(args.table)
    required = args.require.split(",") if args.require else None
    reports = validate_input(Path(args.path), schema, required)
    problems = [p for r in reports for p in r.problems]
    for problem in problems:
        print(printable(problem), file=sys.stderr)
    rows = sum(r.rows for r in reports)
    verdict = "invalid" if problems else "valid"
    if not args.quiet:
        print(
            f"{args.path}: {verdict} as '{args.table}': {len(reports)} files, {rows:,} rows, "
            f"{len(problems)} problems"
        )
    return EXIT_USAGE if problems else EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `validate` to the top-level parser."""
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

"""`wit-pipeline select METADATA --out KEPT.parquet`: metadata first, choose rows on the table's
own columns and a DataComp uid list before downloading (the kept rows are download's input)."""

from __future__ import annotations

import argparse
from pathlib import Path

from wit_pipeline.commands.common import EXIT_OK, add_command


def cmd_select(args: argparse.Namespace) -> int:
    """Split the metadata rows into kept and dropped (with reasons); optionally export uids."""
    from wit_pipeline.metadata.select import Rule, select
    from wit_pipeline.metadata.uids import read_uids

    rules = [Rule.parse(kind, text) for kind in ("min", "max", "keep", "drop")
             for text in getattr(args, kind) or []]  # fmt: skip
    uids = read_uids(Path(args.uids)) if args.uids else None
    export = Path(args.export_uids) if args.export_uids else None
    summary = select(Path(args.input), Path(args.out), rules, uids, args.uid_col, export)
    if not args.quiet:
        print(summary.line())
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `select` to the top-level parser."""
    parser = add_command(
        sub,
        "select",
        "keep the rows of a metadata table (LAION, DataComp) that pass rules on its own columns "
        "or a DataComp uid list, before downloading; dropped rows keep their reasons",
        cmd_select,
    )
    parser.add_argument("input", metavar="METADATA", help="parquet, CSV, TSV, JSON file or folder")
    parser.add_argument(
        "--out",
        required=True,
        metavar="KEPT.parquet",
        help="kept rows (download's input); dropped rows go to KEPT.dropped.parquet",
    )
    rules = parser.add_argument_group("rules (repeatable; a row is kept when it passes all)")
    rules.add_argument("--min", action="append", metavar="COL=VALUE", help="COL >= VALUE")
    rules.add_argument("--max", action="append", metavar="COL=VALUE", help="COL <= VALUE")
    rules.add_argument("--keep", action="append", metavar="COL=A,B", help="COL is one of A, B")
    rules.add_argument("--drop", action="append", metavar="COL=A,B", help="COL is none of A, B")
    uids = parser.add_argument_group("DataComp uid lists (.npy of 128-bit uids)")
    uids.add_argument("--uids", metavar="FILE.npy", help="keep only the rows whose uid is listed")
    uids.add_argument("--uid-col", default="uid", help="column of 32-hex-digit uids (default: uid)")
    uids.add_argument("--export-uids", metavar="FILE.npy", help="write the kept rows' uids there")

"""`wit-pipeline sql "SELECT ..."`: DuckDB over the workspace's views (pairs, samples, scores,
decisions, manifest), printed as an aligned table, CSV or JSON, or written to a parquet file."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from wit_pipeline.catalog import VIEWS, checked_query, query_catalog
from wit_pipeline.commands.common import EXIT_OK, add_command
from wit_pipeline.core.atomic import atomic_path
from wit_pipeline.core.options import non_negative_int
from wit_pipeline.core.workspace import Workspace

MAX_CELL = 60


def _text(value: Any) -> str:
    """A value as one line of text: NULL, JSON for lists and structs, str otherwise."""
    if value is None:
        return "NULL"
    if isinstance(value, list | dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("\n", "\\n")


def format_table(table: pa.Table, max_rows: int) -> str:
    """An aligned text table: numbers right-aligned, long cells cut, a row count at the end."""
    names = table.column_names
    shown = table.slice(0, max_rows).to_pylist() if max_rows else table.to_pylist()
    numeric = [
        pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
        for t in table.schema.types
    ]
    cells = [
        [t if len(t) <= MAX_CELL else t[: MAX_CELL - 1] + "…" for t in map(_text, row.values())]
        for row in shown
    ]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(names)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        ).rstrip()

    lines = [line(names), "  ".join("-" * w for w in widths), *(line(row) for row in cells)]
    footer = f"({table.num_rows:,} rows"
    if len(shown) < table.num_rows:
        footer += f", first {len(shown):,} shown; --csv, --json or --parquet FILE give all"
    return "\n".join([*lines, footer + ")"])


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    if isinstance(value, bool):
        return str(value).lower()
    return value


def write_csv(table: pa.Table) -> None:
    """The result as CSV on stdout, header first; lists and structs as JSON."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(table.column_names)
    for batch in table.to_batches():
        for row in batch.to_pylist():
            writer.writerow([_csv_value(v) for v in row.values()])


def write_json(table: pa.Table) -> None:
    """The result as a JSON array of row objects on stdout, one row per line."""
    rows = (json.dumps(row, default=str, ensure_ascii=False) for row in table.to_pylist())
    sys.stdout.write("[\n" + ",\n".join(rows) + "\n]\n")


def cmd_sql(args: argparse.Namespace) -> int:
    """Run one query over the workspace and print or save its result."""
    workspace = Workspace.at(args.workdir)
    with query_catalog(workspace) as catalog:
        result = checked_query(catalog, args.query)
    if args.parquet:
        with atomic_path(args.parquet) as temp:
            pq.write_table(result, temp)
        if not args.quiet:
            print(f"wrote {result.num_rows:,} rows to {args.parquet}")
    elif args.csv:
        write_csv(result)
    elif args.json:
        write_json(result)
    else:
        print(format_table(result, args.max_rows))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `sql` to the top-level parser."""
    parser = add_command(
        sub,
        "sql",
        f"query the workspace with DuckDB SQL (views: {', '.join(VIEWS)})",
        cmd_sql,
    )
    parser.add_argument("query", help='e.g. "SELECT reason, count(*) FROM decisions GROUP BY 1"')
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--csv", action="store_true", help="CSV on stdout")
    output.add_argument("--json", action="store_true", help="a JSON array of rows on stdout")
    output.add_argument("--parquet", metavar="FILE", help="write the result to a parquet file")
    parser.add_argument(
        "--max-rows",
        type=non_negative_int,
        default=100,
        help="rows the table shows (default: 100; 0: all)",
    )

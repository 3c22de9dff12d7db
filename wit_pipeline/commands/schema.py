"""`wit-pipeline schema TABLE`: print a table contract."""

from __future__ import annotations

import argparse

from wit_pipeline.commands.common import EXIT_OK, add_command
from wit_pipeline.core.schemas import TABLES, load_schema


def cmd_schema(args: argparse.Namespace) -> int:
    """Print a table contract: columns, Arrow types, nullability, meaning."""
    schema = load_schema(args.table)
    print(f"{schema.name}: {schema.description}")
    for f in schema.fields:
        flags = ("required " if f.required else "") + ("nullable" if f.nullable else "not null")
        print(f"  {f.name:<16} {f.type!s:<14} {flags:<18} {f.description}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `schema` to the top-level parser."""
    schema = add_command(sub, "schema", "print a table contract", cmd_schema)
    schema.add_argument("table", choices=TABLES)

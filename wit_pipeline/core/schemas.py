"""Load the table contracts in `schemas/*.json` into pyarrow schemas.

The JSON files are the single source of truth; each field has a name, an Arrow type string,
whether nulls are allowed, whether an input file must carry the column, and a one-line meaning.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pyarrow as pa

TABLES = ("pairs", "samples", "scores", "entries", "head_scores", "decisions", "manifest")

_PRIMITIVES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "large_string": pa.large_string(),
    "binary": pa.binary(),
    "bool": pa.bool_(),
    "int8": pa.int8(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "uint8": pa.uint8(),
    "uint16": pa.uint16(),
    "uint32": pa.uint32(),
    "uint64": pa.uint64(),
    "float16": pa.float16(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "date32": pa.date32(),
}
_LIST = re.compile(r"^list<(.+)>$")
_TIMESTAMP = re.compile(r"^timestamp\[(s|ms|us|ns)(?:,\s*(\S+))?\]$")


def parse_type(text: str) -> pa.DataType:
    """Turn a type string such as `int32`, `list<float32>` or `timestamp[us, UTC]` into Arrow."""
    text = text.strip()
    if text in _PRIMITIVES:
        return _PRIMITIVES[text]
    if match := _LIST.match(text):
        return pa.list_(parse_type(match.group(1)))
    if match := _TIMESTAMP.match(text):
        return pa.timestamp(match.group(1), tz=match.group(2))
    raise ValueError(f"unknown Arrow type string {text!r}")


@dataclass(frozen=True)
class FieldSpec:
    """One column of a table contract."""

    name: str
    type: pa.DataType
    nullable: bool
    required: bool
    description: str


@dataclass(frozen=True)
class TableSchema:
    """A table contract: its fields in order, and the Arrow schema they make."""

    name: str
    description: str
    fields: tuple[FieldSpec, ...]

    @property
    def arrow(self) -> pa.Schema:
        """The Arrow schema stages write with (field descriptions kept as metadata)."""
        return pa.schema(
            [
                pa.field(
                    f.name, f.type, nullable=f.nullable, metadata={"description": f.description}
                )
                for f in self.fields
            ],
            metadata={"wit_pipeline.table": self.name},
        )

    @property
    def required_columns(self) -> list[str]:
        """Columns that every input file claiming this table must carry."""
        return [f.name for f in self.fields if f.required]

    def field(self, name: str) -> FieldSpec:
        """The field called `name` (KeyError if the table has none)."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(f"table {self.name!r} has no column {name!r}")


@cache
def load_schema(table: str) -> TableSchema:
    """Load `schemas/<table>.json` (cached; the files ship inside the package)."""
    if table not in TABLES:
        raise KeyError(f"unknown table {table!r} (known: {', '.join(TABLES)})")
    raw = json.loads(resources.files("wit_pipeline.schemas").joinpath(f"{table}.json").read_text())
    fields = tuple(
        FieldSpec(
            name=item["name"],
            type=parse_type(item["type"]),
            nullable=bool(item["nullable"]),
            required=bool(item["required"]),
            description=item["description"],
        )
        for item in raw["fields"]
    )
    return TableSchema(name=raw["name"], description=raw["description"], fields=fields)

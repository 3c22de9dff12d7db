"""Check a parquet, CSV, TSV, JSON (lines or one array) or .txt URL-list input against a table
contract before any stage writes.

Each problem is one line naming the file, the column and what is wrong, e.g.
`urls.parquet: column 'url': 3 rows are null (rows 4, 17, 90)`. Rows count from 1 and do not
include a CSV header. Files are read in batches, so validating a large input stays cheap.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from wit_pipeline.core.errors import InputError
from wit_pipeline.core.schemas import TableSchema

FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".txt": "txt",
}
"""A `.json` file holding one array of objects is read as that array (img2dataset's `json`)."""
_FORMAT_NAMES = {
    "parquet": "parquet",
    "csv": "CSV",
    "tsv": "TSV",
    "jsonl": "JSON lines",
    "txt": "URL list (.txt)",
}
EXPECTED = "expected .parquet, .csv, .tsv, .json, .jsonl or .txt, optionally .gz"
URL_LIST_COLUMN = "url"
"""The one column of a .txt input: one URL a line, as img2dataset reads it."""
_SHOWN_ROWS = 3
BLOCK_BYTES = 64 << 20
"""CSV and JSON lines are parsed in blocks this big: a row must fit in one (Arrow's 1 MB
default refuses a valid row with a long caption)."""


@dataclass
class ValidationReport:
    """What validating one file found: its row count and its problems (empty when valid)."""

    path: Path
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the file satisfies the contract."""
        return not self.problems


def input_format(path: Path) -> str | None:
    """The input format implied by a file name (`.csv.gz` counts as CSV), or None."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".zst"):
        suffixes = suffixes[:-1]
    return FORMATS.get(suffixes[-1]) if suffixes else None


def input_files(path: Path) -> list[Path]:
    """The input files a path stands for: itself, or a folder's supported files in name order."""
    if path.is_dir():
        return sorted(
            p
            for p in path.iterdir()
            if p.is_file() and not p.name.startswith((".", "_")) and input_format(p)
        )
    return [path]


def _has_parquet_magic(path: Path) -> bool:
    """Parquet files start and end with b'PAR1'; checking first gives a stable message."""
    if path.stat().st_size < 8:
        return False
    with open(path, "rb") as handle:
        head = handle.read(4)
        handle.seek(-4, os.SEEK_END)
        return head == b"PAR1" and handle.read(4) == b"PAR1"


def _starts_an_array(path: Path) -> bool:
    """Whether the (maybe compressed) JSON file starts with `[`: one array, not JSON lines."""
    with pa.input_stream(str(path), compression="detect") as stream:
        return stream.read(4096).lstrip().startswith(b"[")


def _json_array(path: Path) -> pa.Table:
    """A JSON file holding one array of objects, as a table (img2dataset's `json` input)."""
    with pa.input_stream(str(path), compression="detect") as stream:
        rows = json.loads(stream.read())
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError("a JSON array input holds objects only")
    return pa.Table.from_pylist(rows)


def _positional(
    schema: pa.Schema, batches: Iterator[pa.RecordBatch]
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """A headerless file's columns named by position: 0, 1, 2..."""
    names = [str(i) for i in range(len(schema))]
    renamed = (pa.RecordBatch.from_arrays(b.columns, names=names) for b in batches)
    return pa.schema([f.with_name(n) for f, n in zip(schema, names, strict=True)]), renamed


def open_batches(path: Path, header: bool = True) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """Open a parquet, CSV, TSV, JSON or .txt file for streaming: its schema and batches.
    `header` False: a CSV or TSV without a header row, its columns named 0, 1, 2..."""
    fmt = input_format(path)
    if fmt == "parquet":
        parquet = pq.ParquetFile(path)
        return parquet.schema_arrow, parquet.iter_batches(batch_size=65536)
    if fmt in ("csv", "tsv", "txt"):
        read = pacsv.ReadOptions(
            block_size=BLOCK_BYTES,
            column_names=[URL_LIST_COLUMN] if fmt == "txt" else None,
            autogenerate_column_names=not header and fmt != "txt",
        )
        parse = pacsv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",")
        convert = pacsv.ConvertOptions(strings_can_be_null=True)
        if fmt == "txt":
            # one URL a line, whole: no delimiter or quote splits it
            parse = pacsv.ParseOptions(delimiter="\x1f", quote_char=False)
            convert = pacsv.ConvertOptions(column_types={URL_LIST_COLUMN: pa.string()})
        reader = pacsv.open_csv(
            path, read_options=read, parse_options=parse, convert_options=convert
        )
        if not header and fmt != "txt":
            return _positional(reader.schema, iter(reader))
        return reader.schema, iter(reader)
    if _starts_an_array(path):
        table = _json_array(path)
    else:
        table = pajson.read_json(path, read_options=pajson.ReadOptions(block_size=BLOCK_BYTES))
    return table.schema, iter(table.to_batches())


def _type_family_matches(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Whether a column of type `actual` can serve where the contract says `expected`."""
    t = pa.types
    if actual.equals(expected) or t.is_null(actual):
        return True
    if t.is_integer(expected):
        return t.is_integer(actual)
    if t.is_floating(expected):
        return t.is_floating(actual) or t.is_integer(actual)
    if t.is_string(expected) or t.is_large_string(expected):
        return t.is_string(actual) or t.is_large_string(actual)
    if t.is_binary(expected) or t.is_large_binary(expected):
        return t.is_binary(actual) or t.is_large_binary(actual)
    if t.is_list(expected):
        return (t.is_list(actual) or t.is_large_list(actual)) and _type_family_matches(
            actual.value_type, expected.value_type
        )
    if t.is_timestamp(expected):
        return t.is_timestamp(actual)
    return False


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type when the message is empty)."""
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _null_problem(name: str, column: str, count: int, rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows)
    more = ", ..." if count > len(rows) else ""
    if count == 1:
        return f"{name}: column {column!r}: 1 row is null (row {shown})"
    return f"{name}: column {column!r}: {count} rows are null (rows {shown}{more})"


def validate_file(
    path: Path,
    schema: TableSchema,
    required: Iterable[str] | None = None,
    check_nulls: bool = True,
    header: bool = True,
) -> ValidationReport:
    """Validate one file against `schema`; `required` overrides the contract's required columns.

    With `check_nulls` off, nulls are left to the stage (which records such rows as failed);
    `header` False reads a CSV or TSV without a header row (columns 0, 1, 2...).
    """
    report = ValidationReport(path=path)
    name = str(path)
    if not path.exists():
        report.problems.append(f"{name}: no such file")
        return report
    fmt = input_format(path)
    if fmt is None:
        report.problems.append(
            f"{name}: unsupported input format {path.suffix or '(no suffix)'!r} ({EXPECTED})"
        )
        return report
    if path.stat().st_size == 0:
        report.problems.append(f"{name}: empty file (0 bytes)")
        return report
    if fmt == "parquet" and not _has_parquet_magic(path):
        report.problems.append(f"{name}: not a parquet file (no PAR1 magic bytes)")
        return report
    try:
        file_schema, batches = open_batches(path, header)
        columns = file_schema.names
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = _first_line(exc)
        report.problems.append(f"{name}: not a valid {_FORMAT_NAMES[fmt]} file ({reason})")
        return report

    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        report.problems.append(f"{name}: column {twice[0]!r} appears more than once")
        return report
    required_columns = list(required) if required is not None else schema.required_columns
    for column in required_columns:
        if column not in columns:
            found = ", ".join(columns) or "none"
            report.problems.append(f"{name}: column {column!r} is missing (columns: {found})")

    checked_nulls: list[str] = []
    for spec in schema.fields:
        if spec.name not in columns:
            continue
        actual = file_schema.field(spec.name).type
        if not _type_family_matches(actual, spec.type):
            report.problems.append(
                f"{name}: column {spec.name!r}: type {actual}, expected {spec.type}"
            )
        elif check_nulls and not spec.nullable:
            checked_nulls.append(spec.name)

    if fmt == "parquet" and not checked_nulls:
        # nothing to look at in the rows: the footer has the count (no second pass over a
        # large input that the stage reads anyway)
        batches = iter(())
        report.rows = pq.ParquetFile(path).metadata.num_rows
    null_counts = dict.fromkeys(checked_nulls, 0)
    null_rows: dict[str, list[int]] = {c: [] for c in checked_nulls}
    try:
        for batch in batches:
            for column in checked_nulls:
                values = batch.column(column)
                nulls = values.null_count
                if nulls and len(null_rows[column]) < _SHOWN_ROWS:
                    positions = pc.indices_nonzero(pc.is_null(values)).to_pylist()
                    need = _SHOWN_ROWS - len(null_rows[column])
                    null_rows[column].extend(report.rows + p + 1 for p in positions[:need])
                null_counts[column] += nulls
            report.rows += batch.num_rows
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = _first_line(exc)
        report.problems.append(
            f"{name}: not a valid {_FORMAT_NAMES[fmt]} file after row {report.rows} ({reason})"
        )
        return report

    for column in checked_nulls:
        if null_counts[column]:
            report.problems.append(
                _null_problem(name, column, null_counts[column], null_rows[column])
            )
    if report.rows == 0:
        report.problems.append(f"{name}: no rows (the file has columns but no data)")
    return report


def validate_input(
    path: Path,
    schema: TableSchema,
    required: Iterable[str] | None = None,
    check_nulls: bool = True,
    header: bool = True,
) -> list[ValidationReport]:
    """Validate a file, or every supported file in a folder (a folder with none is a problem)."""
    files = input_files(path)
    if path.is_dir() and not files:
        report = ValidationReport(path=path)
        report.problems.append(f"{path}: folder holds no input files ({EXPECTED})")
        return [report]
    required_list = list(required) if required is not None else None
    return [validate_file(f, schema, required_list, check_nulls, header) for f in files]


def require_valid(
    path: Path,
    schema: TableSchema,
    required: Iterable[str] | None = None,
    check_nulls: bool = True,
    header: bool = True,
) -> list[ValidationReport]:
    """Validate and raise InputError carrying the first problem line (and how many more)."""
    reports = validate_input(path, schema, required, check_nulls, header)
    problems = [p for r in reports for p in r.problems]
    if problems:
        extra = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise InputError(problems[0] + extra, problems)
    return reports

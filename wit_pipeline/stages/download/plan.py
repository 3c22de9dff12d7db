"""Split the download input into shards of input rows, written once to `raw/.input/`.

The plan is written before any download and reused by every rerun, so a killed run resumes
with the very same rows in the very same shards (keys never move).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather

from wit_pipeline.core.atomic import atomic_path, write_json_atomic
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.core.validate import input_files, open_batches, require_valid

PLAN_DIR = ".input"
OUTPUT_COLUMNS = (
    "key",
    "status",
    "error_message",
    "width",
    "height",
    "original_width",
    "original_height",
    "sha256",
    "error_code",
)
PLAN_FILE = "plan.json"


@dataclass(frozen=True)
class InputSpec:
    """Where the URLs come from and which columns hold what."""

    path: Path
    url_col: str = "url"
    caption_col: str | None = "caption"
    samples_per_shard: int = 10_000
    extra_columns: tuple[str, ...] = ()


def key_digits(samples_per_shard: int) -> int:
    """Digits of the in-shard part of a key, as img2dataset computes it."""
    return max(1, math.ceil(math.log10(samples_per_shard)))


def _fingerprint(spec: InputSpec) -> dict:
    files = input_files(spec.path)
    return {
        "files": [[str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns] for f in files],
        "url_col": spec.url_col,
        "caption_col": spec.caption_col,
        "samples_per_shard": spec.samples_per_shard,
        "extra_columns": list(spec.extra_columns),
    }


def _rows(spec: InputSpec) -> Iterator[pa.RecordBatch]:
    """Input rows as batches of (url, caption, extras...) strings, in file order."""
    wanted = (
        [spec.url_col] + ([spec.caption_col] if spec.caption_col else []) + list(spec.extra_columns)
    )
    for path in input_files(spec.path):
        _, batches = open_batches(path)
        for batch in batches:
            columns = [batch.column(name).cast(pa.string()) for name in wanted]
            names = ["url", "caption"][: 1 + bool(spec.caption_col)] + list(spec.extra_columns)
            yield pa.RecordBatch.from_arrays(columns, names=names)


def check_input(spec: InputSpec) -> dict | None:
    """Validate the input (exit-2 InputError on bad input); its fingerprint, or None if absent."""
    reserved = {"url", "caption", *OUTPUT_COLUMNS}
    for column in spec.extra_columns:
        if column in reserved or spec.extra_columns.count(column) > 1:
            raise InputError(
                f"--save-additional-columns: {column!r} is written anyway or given twice "
                f"(reserved: {', '.join(sorted(reserved))})"
            )
    if not spec.path.exists():
        return None
    required = [spec.url_col] + ([spec.caption_col] if spec.caption_col else [])
    columns = required + list(spec.extra_columns)
    require_valid(spec.path, load_schema("pairs"), columns, check_nulls=False)
    return _fingerprint(spec)


def plan_shards(spec: InputSpec, raw_dir: Path, fingerprint: dict | None) -> list[Path]:
    """Write the input's shards to raw/.input/, or reuse the plan an earlier run wrote."""
    plan_dir = raw_dir / PLAN_DIR
    plan_file = plan_dir / PLAN_FILE
    if plan_file.is_file():
        plan = json.loads(plan_file.read_text())
        if fingerprint is not None and plan["input"] != fingerprint:
            raise InputError(
                f"{raw_dir}: holds a download of another input or other settings; "
                "use --overwrite to start over, or another --workdir"
            )
        return [plan_dir / name for name in plan["shards"]]
    if fingerprint is None:
        raise InputError(f"{spec.path}: no such file or folder")
    shards: list[str] = []
    pending: list[pa.RecordBatch] = []
    pending_rows = 0

    def flush(batches: list[pa.RecordBatch]) -> None:
        name = f"{len(shards):05d}.arrow"
        with atomic_path(plan_dir / name) as temp:
            feather.write_feather(pa.Table.from_batches(batches), temp, compression="zstd")
        shards.append(name)

    for batch in _rows(spec):
        while batch.num_rows:
            take = batch.slice(0, spec.samples_per_shard - pending_rows)
            pending.append(take)
            pending_rows += take.num_rows
            batch = batch.slice(take.num_rows)
            if pending_rows == spec.samples_per_shard:
                flush(pending)
                pending, pending_rows = [], 0
    if pending:
        flush(pending)
    write_json_atomic(plan_file, {"input": fingerprint, "shards": shards})
    return [plan_dir / name for name in shards]

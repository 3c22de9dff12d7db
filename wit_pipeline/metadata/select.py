"""Choose the rows of a metadata table on its own columns (LAION's `similarity`, DataComp's
`clip_l14_similarity_score`, width, height, NSFW tags...) and on a DataComp uid list, before any
download: the kept rows go to one parquet (the download's input), the dropped ones to another
with every reason that applied, in rule order."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wit_pipeline.core.atomic import atomic_path
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.validate import input_files, input_format, open_batches
from wit_pipeline.metadata.uids import listed, uid_pairs, write_uids

OPS = {"min": "<", "max": ">", "keep": " not in ", "drop": " in "}
"""Rule kinds and how a dropped row's reason reads (`similarity<0.28`, `NSFW in NSFW`)."""
UID_NOT_LISTED = "uid_not_listed"
REASONS_COLUMN = "reasons"


@dataclass(frozen=True)
class Rule:
    """One condition a kept row meets: `column` at least / at most `values[0]` (min, max), or
    one of / none of `values` (keep, drop). A null value fails min, max and keep."""

    kind: str
    column: str
    values: tuple[str, ...]

    @classmethod
    def parse(cls, kind: str, text: str) -> Rule:
        """A rule from `COLUMN=VALUE` (`COLUMN=A,B` for keep and drop)."""
        column, sign, value = text.partition("=")
        if not sign or not column or not value:
            raise InputError(f"--{kind} {text!r}: expected COLUMN=VALUE")
        values = tuple(value.split(",")) if kind in ("keep", "drop") else (value,)
        if kind in ("min", "max"):
            try:
                float(value)
            except ValueError:
                raise InputError(f"--{kind} {text!r}: {value!r} is not a number") from None
        return cls(kind, column, values)

    @property
    def reason(self) -> str:
        """The reason a row this rule drops gets."""
        return f"{self.column}{OPS[self.kind]}{','.join(self.values)}"

    def fails(self, batch: pa.RecordBatch) -> np.ndarray:
        """Which rows of `batch` this rule drops."""
        column = batch.column(self.column)
        if self.kind in ("min", "max"):
            limit = float(self.values[0])
            numbers = pc.cast(column, pa.float64())
            ok = (
                pc.greater_equal(numbers, limit)
                if self.kind == "min"
                else pc.less_equal(numbers, limit)
            )
        else:
            found = pc.is_in(pc.cast(column, pa.string()), pa.array(self.values, pa.string()))
            ok = found if self.kind == "keep" else pc.invert(found)
        return ~pc.fill_null(ok, False).to_numpy(zero_copy_only=False)


@dataclass
class SelectSummary:
    """What a selection did."""

    out: str
    rows: int = 0
    kept: int = 0
    reasons: Counter = field(default_factory=Counter)
    exported: int | None = None

    def line(self) -> str:
        """One summary line for people."""
        share = 100.0 * self.kept / self.rows if self.rows else 0.0
        top = ", ".join(f"{k} {v:,}" for k, v in self.reasons.most_common(6)) or "none"
        exported = f"; {self.exported:,} uids exported" if self.exported is not None else ""
        return (
            f"selected {self.kept:,} of {self.rows:,} rows ({share:.1f}%) into {self.out}; "
            f"dropped: {top}{exported}"
        )


def dropped_path(out: Path) -> Path:
    """Where the dropped rows of a selection into `out` go: `OUT.dropped.parquet`."""
    return out.with_name(out.name.removesuffix(".parquet") + ".dropped.parquet")


def _check_columns(path: Path, names: list[str], wanted: list[str]) -> None:
    missing = [c for c in wanted if c not in names]
    if missing:
        found = ", ".join(names) or "none"
        raise InputError(f"{path}: column {missing[0]!r} is missing (columns: {found})")


def select(
    source: Path,
    out: Path,
    rules: list[Rule],
    uids: np.ndarray | None = None,
    uid_col: str = "uid",
    export_uids: Path | None = None,
) -> SelectSummary:
    """Split the rows of `source` (a file or a folder of them) into kept (`out`) and dropped
    (`dropped_path(out)`, with a `reasons` list); with `uids`, only listed rows are kept; with
    `export_uids`, the kept rows' uids are written there as a DataComp uid list."""
    if not source.exists():
        raise InputError(f"{source}: no such file or folder")
    files = input_files(source)
    if not files or not all(input_format(f) for f in files):
        raise InputError(f"{source}: no metadata table (.parquet, .csv, .tsv, .json, .jsonl)")
    wanted = [r.column for r in rules] + ([uid_col] if uids is not None or export_uids else [])
    for path in files:
        _check_columns(path, open_batches(path)[0].names, wanted)
    summary = SelectSummary(str(out))
    kept_uids: list[np.ndarray] = []
    with atomic_path(out) as kept_temp, atomic_path(dropped_path(out)) as dropped_temp:
        kept_writer = dropped_writer = None
        schema = None
        for path in files:
            file_rows = 0
            for batch in open_batches(path)[1]:
                if schema is None:
                    schema = batch.schema
                    reasons_field = pa.field(REASONS_COLUMN, pa.list_(pa.string()))
                    kept_writer = pq.ParquetWriter(kept_temp, schema)
                    dropped_writer = pq.ParquetWriter(dropped_temp, schema.append(reasons_field))
                table = pa.Table.from_batches([batch]).select(schema.names).cast(schema)
                reasons = _reasons(batch, rules, uids, uid_col, str(path), file_rows)
                keep = np.array([not r for r in reasons], dtype=bool)
                kept = table.filter(pa.array(keep))
                kept_writer.write_table(kept)
                dropped = table.filter(pa.array(~keep))
                lists = [r for r in reasons if r]
                lists_array = pa.array(lists, reasons_field.type)
                dropped_writer.write_table(dropped.append_column(reasons_field, lists_array))
                summary.rows += batch.num_rows
                file_rows += batch.num_rows
                summary.kept += kept.num_rows
                summary.reasons.update(reason for r in lists for reason in r)
                if export_uids is not None:
                    values = kept[uid_col].to_pylist()
                    kept_uids.append(uid_pairs(values, str(path)))
        if schema is None:
            raise InputError(f"{source}: no rows")
        kept_writer.close()
        dropped_writer.close()
        if export_uids is not None:
            summary.exported = write_uids(export_uids, np.concatenate(kept_uids))
    return summary


def _reasons(
    batch: pa.RecordBatch,
    rules: list[Rule],
    uids: np.ndarray | None,
    uid_col: str,
    where: str,
    first_row: int,
) -> list[list[str]]:
    """Every reason that drops each row of `batch`, in rule order (empty: kept)."""
    reasons: list[list[str]] = [[] for _ in range(batch.num_rows)]
    for rule in rules:
        for row in np.flatnonzero(rule.fails(batch)).tolist():
            reasons[row].append(rule.reason)
    if uids is not None:
        pairs = uid_pairs(batch.column(uid_col).to_pylist(), where, first_row)
        for row in np.flatnonzero(~listed(uids, pairs)).tolist():
            reasons[row].append(UID_NOT_LISTED)
    return reasons

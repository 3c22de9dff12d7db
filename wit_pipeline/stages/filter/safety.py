"""The safety rules of one shard: blocklist matches and classifier-head thresholds, from the
columns `with_safety_columns` adds to the shard's joined table (`sha256` of the raw rows,
`head:NAME` scores)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from wit_pipeline.core.errors import InputError
from wit_pipeline.stages.filter.head_scores import head_columns

if TYPE_CHECKING:
    from wit_pipeline.stages.filter.decide import DecideOptions

BLOCKLISTED = "blocklisted"


def with_safety_columns(
    table: pa.Table, raw: Path, scores: Path, options: DecideOptions
) -> pa.Table:
    """`table` (a shard's raw rows joined with scores) with the columns the safety rules read."""
    blocklist = options.blocklist
    if blocklist is not None and blocklist.sha256:
        if "sha256" not in pq.ParquetFile(raw).schema_arrow.names:
            raise InputError(
                f"{raw}: no sha256 column (the hash of the original bytes) for --blocklist; "
                "download again"
            )
        table = table.append_column("sha256", pq.read_table(raw, columns=["sha256"])["sha256"])
    names = sorted({rule.name for rule in options.head_rules})
    if names:
        columns = head_columns(scores, table.column("key"), table.column("clip_model"), names)
        for name in names:
            table = table.append_column(f"head:{name}", pa.array(columns[name], pa.float64()))
    return table


def blocked(
    table: pa.Table, options: DecideOptions, phash: np.ndarray, hashed: np.ndarray
) -> list[str | None]:
    """Per sample, why the blocklist drops it (None: it does not)."""
    if options.blocklist is None:
        return [None] * table.num_rows
    sha256 = table.column("sha256") if "sha256" in table.column_names else None
    return options.blocklist.match(sha256, phash, hashed)


def head_masks(table: pa.Table, options: DecideOptions) -> dict[str, np.ndarray]:
    """Per reason (`classifier:NAME`), which samples the head rules drop."""
    masks: dict[str, np.ndarray] = {}
    for rule in options.head_rules:
        mask = rule.mask(table.column(f"head:{rule.name}").to_numpy())
        masks[rule.reason] = masks[rule.reason] | mask if rule.reason in masks else mask
    return masks


def head_detail(table: pa.Table, options: DecideOptions, reason: str, position: int) -> str:
    """The detail of the first rule under `reason` that drops the sample at `position`."""
    for rule in options.head_rules:
        if rule.reason != reason:
            continue
        score = table.column(f"head:{rule.name}")[position].as_py()
        score = np.nan if score is None else score
        if rule.mask(np.array([score]))[0]:
            return rule.detail(score)
    return reason

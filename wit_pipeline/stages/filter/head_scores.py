"""The classifier heads' scores of one shard: computed from the image embeddings the score
phase makes anyway, written to scores/heads/SHARD.parquet, read back as one column per head."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wit_pipeline.core.atomic import atomic_path
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.scoring.heads import Head

HEADS_DIR = "heads"


def heads_path(scores: Path) -> Path:
    """Where the head scores of the shard whose scores are `scores` live."""
    return scores.parent / HEADS_DIR / scores.name


def write_head_scores(
    scores: Path,
    keys: list[str],
    model_id: str,
    heads: list[tuple[Head, str]],
    embeddings: np.ndarray,
) -> None:
    """Every (head, sha256) applied to the (n, d) embeddings of the samples `keys`, atomically."""
    names, shas, values = [], [], []
    for head, sha in heads:
        values.append(head(embeddings).astype(np.float32) if keys else np.zeros(0, np.float32))
        names += [head.name] * len(keys)
        shas += [sha] * len(keys)
    table = pa.table(
        {
            "key": pa.array(keys * len(heads), pa.string()),
            "head": pa.array(names, pa.string()),
            "head_sha256": pa.array(shas, pa.string()),
            "clip_model": pa.array([model_id] * len(names), pa.string()),
            "score": pa.array(np.concatenate(values) if values else [], pa.float32()),
        },
        schema=load_schema("head_scores").arrow,
    )
    target = heads_path(scores)
    with atomic_path(target) as temp:
        pq.write_table(table, temp)


def head_columns(
    scores: Path, keys: pa.ChunkedArray, clip_model: pa.ChunkedArray, names: list[str]
) -> dict[str, np.ndarray]:
    """Per head name, its score of each of these samples (NaN where the sample has none); an
    InputError when a shard scored by CLIP has no scores of a head by its model."""
    path = heads_path(scores)
    models = set(clip_model.drop_null().to_pylist())
    table = pq.read_table(path) if path.is_file() else None
    columns = {}
    for name in names:
        rows = None
        if table is not None:
            by = pc.is_in(
                table.column("clip_model"), value_set=pa.array(sorted(models), pa.string())
            )
            rows = table.filter(pc.and_(pc.equal(table.column("head"), name), by))
        if models and (rows is None or rows.num_rows == 0):
            raise InputError(
                f"{path}: no scores of head {name} by {sorted(models)[0]}; "
                f"filter with --classifier {name}=PATH"
            )
        values = np.full(len(keys), np.nan)
        if rows is not None and rows.num_rows:
            at = pc.fill_null(pc.index_in(keys, value_set=rows.column("key")), -1).to_numpy()
            found = at >= 0
            values[found] = rows.column("score").to_numpy().astype(np.float64)[at[found]]
        columns[name] = values
    return columns

"""The decide phase's semantic dedupe: the samples that survive every other rule (the hash
dedupe included), their saved image embeddings (`filter --save-embeddings`), semantic pairs
(`scoring.semantic_dedupe`) and, of each group, the best sample by the hash dedupe's rank."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wit_pipeline.core.errors import InputError
from wit_pipeline.scoring.dedupe import duplicate_of
from wit_pipeline.scoring.semantic_dedupe import semantic_pairs

if TYPE_CHECKING:
    from wit_pipeline.stages.filter.decide import DecideOptions

EMBEDDINGS_DIR = "embeddings"


def _shard_embeddings(raw: Path, scores: Path, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Global row numbers and image embeddings of one shard's saved embeddings (none: empty);
    an InputError when they came from another model than the shard's CLIP scores."""
    path = scores.parent / EMBEDDINGS_DIR / f"{scores.stem}.npz"
    if not path.is_file():
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    with np.load(path, allow_pickle=False) as data:
        keys, image = data["key"].tolist(), data["image"]
        model = str(data["clip_model"]) if "clip_model" in data else None
    scored = pq.read_table(scores, columns=["clip_model"]).column("clip_model").drop_null()
    if model is None or (len(scored) and scored[0].as_py() != model):
        raise InputError(
            f"{path}: saved by another CLIP model than the scores; score again with "
            "--save-embeddings"
        )
    raw_keys = pq.read_table(raw, columns=["key"]).column("key")
    at = pc.fill_null(pc.index_in(pa.array(keys, pa.string()), value_set=raw_keys), -1)
    at = at.to_numpy()
    return offset + at[at >= 0], image[at >= 0]


def semantic_duplicates(
    paths: list[tuple[str, Path, Path]],
    rows: np.ndarray,
    rank: np.ndarray,
    candidates: np.ndarray,
    options: DecideOptions,
) -> np.ndarray:
    """(duplicate row, kept row) of every semantic duplicate among the candidates, by global
    row number, sorted. `rows`, `rank` and `candidates` are per hashed sample (rows rising)."""
    found, vectors, offset = [], [], 0
    for _, raw, scores in paths:
        shard_rows, image = _shard_embeddings(raw, scores, offset)
        count = pq.ParquetFile(raw).metadata.num_rows
        inside = rows[(rows >= offset) & (rows < offset + count)]
        if shard_rows.size == 0 and candidates[np.searchsorted(rows, inside)].any():
            raise InputError(
                f"{scores.parent / EMBEDDINGS_DIR / (scores.stem + '.npz')}: missing; "
                "--semantic-dedupe reads image embeddings: score with --save-embeddings"
            )
        if shard_rows.size:
            found.append(shard_rows)
            vectors.append(image)
        offset += count
    if not found:
        return np.zeros((0, 2), np.int64)
    found_rows, x = np.concatenate(found), np.concatenate(vectors)
    at = np.minimum(np.searchsorted(rows, found_rows), max(0, rows.size - 1))
    use = (rows[at] == found_rows) & candidates[at] if rows.size else np.zeros(0, bool)
    at, x = at[use], x[use]
    order = np.argsort(at)
    at, x = at[order], x[order]
    pairs, _ = semantic_pairs(
        x, options.semantic_dedupe, options.semantic_clusters, options.semantic_probes
    )
    local_rank = np.empty(at.size, np.int64)
    local_rank[np.argsort(rank[at], kind="stable")] = np.arange(at.size)
    target = duplicate_of(pairs, local_rank, np.ones(at.size, bool), options.dedupe_grouping)
    marked = np.flatnonzero(target >= 0)
    return np.stack([rows[at[marked]], rows[at[target[marked]]]], axis=1).astype(np.int64)

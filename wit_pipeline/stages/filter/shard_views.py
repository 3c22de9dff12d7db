"""The dedupe views of some samples of one shard, from its scores, as columns for the index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wit_pipeline.core.errors import InputError
from wit_pipeline.scoring.colour_hash import HASH_BYTES, as_words
from wit_pipeline.scoring.dedupe import Views

VIEW_COLUMNS = (
    "view_phash",
    "view_colour",
    "view_soft_colour",
    "view_kind",
    "view_log_aspect",
    "view_texture",
)


def views_of(columns: dict[str, list]) -> Views:
    """The views of one sample from its view columns (as `sample_facts.view_columns` makes
    them); the sample is number 0."""
    colours, soft = columns["view_colour"], columns["view_soft_colour"]
    return Views(
        np.zeros(len(colours), np.int64),
        np.array(columns["view_phash"], dtype=np.uint64),
        as_words(colours) if colours else np.zeros((0, 2), np.uint64),
        as_words(soft) if soft else np.zeros((0, 2), np.uint64),
        np.array(columns["view_kind"], dtype=np.uint8),
        np.array(columns["view_log_aspect"], dtype=np.float32),
        np.array(columns["view_texture"], dtype=np.uint64),
    )


def _values(column: pa.ChunkedArray, positions: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """The flattened values of a list column at `positions`, and each list's length."""
    lists = column.take(pa.array(positions, pa.int64())).combine_chunks()
    return lists.flatten(), pc.fill_null(lists.value_lengths(), 0).to_numpy()


def _colour_words(values: pa.Array, scores: Path) -> np.ndarray:
    """16-byte colours as an (n, 2) uint64 array, straight from the binary array's buffer."""
    start = values.offset
    offsets = np.frombuffer(values.buffers()[1], np.int32)[start : start + len(values) + 1]
    if len(values) and not (np.diff(offsets) == HASH_BYTES).all():
        raise InputError(f"{scores}: a view colour is not {HASH_BYTES} bytes; score again")
    data = values.buffers()[2] if len(values) else b""
    return as_words(bytes(data[offsets[0] : offsets[-1]]) if len(values) else b"")


def shard_views(scores: Path, keys: pa.ChunkedArray, positions: np.ndarray, first: int) -> Views:
    """The views of the samples at `positions` of a shard whose raw keys are `keys`; the
    sample of a view is `first` plus its position in `positions`."""
    names = pq.ParquetFile(scores).schema_arrow.names
    missing = [c for c in VIEW_COLUMNS if c not in names]
    if missing:
        raise InputError(
            f"{scores}: no column {missing[0]} (scored by an older version); run the score "
            "phase again"
        )
    table = pq.read_table(scores, columns=["key", *VIEW_COLUMNS])
    if not table.column("key").equals(keys):
        table = table.take(pc.index_in(keys, value_set=table.column("key")))
    phash, lengths = _values(table.column("view_phash"), positions)
    colour, _ = _values(table.column("view_colour"), positions)
    soft, _ = _values(table.column("view_soft_colour"), positions)
    kind, _ = _values(table.column("view_kind"), positions)
    aspect, _ = _values(table.column("view_log_aspect"), positions)
    texture, _ = _values(table.column("view_texture"), positions)
    return Views(
        np.repeat(first + np.arange(positions.size, dtype=np.int64), lengths),
        phash.to_numpy(zero_copy_only=False).astype(np.uint64),
        _colour_words(colour, scores),
        _colour_words(soft, scores),
        kind.to_numpy(zero_copy_only=False).astype(np.uint8),
        aspect.to_numpy(zero_copy_only=False).astype(np.float32),
        texture.to_numpy(zero_copy_only=False).astype(np.uint64),
    )

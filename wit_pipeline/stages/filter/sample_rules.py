"""The decide phase's rules over one raw shard joined with its scores, as column masks.

`reasons()` turns the masks into each sample's (reason, detail) list, in rule order, for the
shard's decisions; the masks alone tell the first pass which samples are still keepable.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wit_pipeline.core.errors import InputError
from wit_pipeline.scoring.colour_hash import HASH_BYTES, as_words
from wit_pipeline.stages.filter.safety import (
    BLOCKLISTED,
    blocked,
    head_detail,
    head_masks,
    with_safety_columns,
)

if TYPE_CHECKING:
    from wit_pipeline.stages.filter.decide import DecideOptions

RAW_COLUMNS = ["key", "status", "error_code", "original_width", "original_height"]
SCORE_COLUMNS = [
    "width",
    "height",
    "caption_words",
    "lang",
    "phash",
    "colour_hash",
    "clip_score",
    "clip_model",
    "error",
]


def shard_paths(raw_dir: Path, scores_dir: Path) -> list[tuple[str, Path, Path]]:
    """(shard, raw parquet, scores parquet) of every raw shard, in order."""
    paths = []
    for raw in sorted(raw_dir.glob("[0-9]*.parquet")):
        scores = scores_dir / raw.name
        if not scores.is_file():
            raise InputError(f"{scores}: missing; run the score phase first")
        paths.append((raw.stem, raw, scores))
    if not paths:
        raise InputError(f"{raw_dir}: no raw shards; run download first")
    return paths


def read_shard(raw: Path, scores: Path, options: DecideOptions | None = None) -> pa.Table:
    """The raw rows (in their order) with their scores' columns (null where none), and the
    columns the safety rules of `options` read."""
    table = pq.read_table(raw, columns=RAW_COLUMNS)
    names = pq.ParquetFile(scores).schema_arrow.names
    missing = [c for c in SCORE_COLUMNS if c not in names]
    if missing:
        raise InputError(
            f"{scores}: no column {missing[0]} (scored by an older version); run the score "
            "phase again"
        )
    facts = pq.read_table(scores, columns=["key", *SCORE_COLUMNS])
    if not facts.column("key").equals(table.column("key")):
        facts = facts.take(pc.index_in(table.column("key"), value_set=facts.column("key")))
    for name in SCORE_COLUMNS:
        table = table.append_column(name, facts.column(name))
    return table if options is None else with_safety_columns(table, raw, scores, options)


def _ints(column: pa.ChunkedArray, fill: int = 0) -> np.ndarray:
    return pc.fill_null(column, fill).to_numpy().astype(np.int64)


class ShardRules:
    """Which rules drop which samples of one shard, from its joined table."""

    def __init__(
        self,
        table: pa.Table,
        options: DecideOptions,
        threshold: float | None,
        no_entry: np.ndarray | None = None,
    ) -> None:
        self.table, self.options, self.threshold = table, options, threshold
        self.no_entry = no_entry
        self.count = table.num_rows
        self.keys = table.column("key")
        status = table.column("status")
        error = table.column("error")
        self.success = pc.fill_null(pc.equal(status, "success"), False).to_numpy()
        self.errored = pc.fill_null(pc.greater(pc.utf8_length(error), 0), False).to_numpy()
        self.decoded = table.column("width").is_valid().to_numpy()
        self.early = ~self.success | self.errored | ~self.decoded
        width, height = _ints(table.column("width")), _ints(table.column("height"))
        original_w = _ints(table.column("original_width"))
        original_h = _ints(table.column("original_height"))
        # size rules look at the image as published, not at its resized copy in raw/
        self.shown_w = np.where(original_w != 0, original_w, width)
        self.shown_h = np.where(original_h != 0, original_h, height)
        self.pixels = width * height
        shortest = np.minimum(self.shown_w, self.shown_h)
        self.ratio = np.maximum(self.shown_w, self.shown_h) / np.maximum(1, shortest)
        self.words = _ints(table.column("caption_words"))
        score = table.column("clip_score")
        self.score = pc.fill_null(pc.cast(score, pa.float64()), np.nan).to_numpy()
        self.rank_score = np.where(np.isnan(self.score), -2.0, self.score)
        self.masks = self._masks(shortest, table.column("lang"))
        self.phash = pc.fill_null(table.column("phash"), 0).to_numpy()
        self.hashed = (
            table.column("phash").is_valid().to_numpy()
            & table.column("colour_hash").is_valid().to_numpy()
            & self.success
            & ~self.errored
        )
        with np.errstate(divide="ignore"):
            self.log_aspect = np.log(np.maximum(1, self.shown_w) / np.maximum(1, self.shown_h))
        self.masks.update({n: m & ~self.early for n, m in head_masks(table, options).items()})
        self.blocked = blocked(table, options, self.phash, self.hashed)
        self.blocked_mask = np.array([b is not None for b in self.blocked], dtype=bool)
        self.any_rule = (
            self.early | self.blocked_mask | np.logical_or.reduce(list(self.masks.values()))
        )

    def _masks(self, shortest: np.ndarray, lang: pa.ChunkedArray) -> dict[str, np.ndarray]:
        options, late = self.options, ~self.early
        masks = {
            "too_small": shortest < options.min_image_size,
            "bad_aspect_ratio": self.ratio > options.max_aspect_ratio,
            "few_caption_words": self.words < options.min_caption_words,
            "wrong_lang": np.zeros(self.count, dtype=bool),
            "low_clip_score": np.zeros(self.count, dtype=bool),
            "no_entry": np.zeros(self.count, dtype=bool),
        }
        if self.no_entry is not None:
            masks["no_entry"] = self.no_entry
        if options.langs:
            value_set = pa.array(sorted(options.langs), pa.string())
            known = pc.fill_null(pc.is_in(lang, value_set=value_set), False)
            masks["wrong_lang"] = ~known.to_numpy()
        if self.threshold is not None:
            masks["low_clip_score"] = np.isnan(self.score) | (self.score < self.threshold)
        return {name: mask & late for name, mask in masks.items()}

    def colour_words(self, positions: np.ndarray) -> np.ndarray:
        """The colour hashes of these samples as an (n, 2) uint64 array."""
        column = self.table.column("colour_hash").take(pa.array(positions))
        data = b"".join(column.to_pylist())
        if len(data) != HASH_BYTES * positions.size:
            raise InputError(
                "scores: a colour_hash is not 16 bytes long; run the score phase again"
            )
        return as_words(data)

    def reasons(self) -> list[list[tuple[str, str | None]]]:
        """(reason, detail) of every rule that drops each sample, in rule order."""
        status = self.table.column("status").to_pylist()
        reasons: list[list[tuple[str, str | None]]] = [[] for _ in range(self.count)]
        for position in np.flatnonzero(self.blocked_mask).tolist():
            reasons[position].append((BLOCKLISTED, self.blocked[position]))
        for position in np.flatnonzero(self.early).tolist():
            reasons[position].append(self._early_reason(position, status[position]))
        masked = np.flatnonzero(self.any_rule & ~self.early)
        if masked.size == 0:
            return reasons
        lang = self.table.column("lang").to_pylist()
        for position in masked.tolist():
            for name in self.masks:
                if self.masks[name][position]:
                    reasons[position].append((name, self._detail(name, position, lang)))
        return reasons

    def _early_reason(self, position: int, status: str) -> tuple[str, str | None]:
        if not self.success[position]:
            return status, self.table.column("error_code")[position].as_py()
        if self.errored[position]:
            # the score phase's errors start with their kind: missing_image, bad_member, ...
            error = self.table.column("error")[position].as_py()
            return error.split(":", 1)[0], error
        return "decode_error", "no scores for this sample"

    def _detail(self, name: str, position: int, lang: list[str | None]) -> str:
        options = self.options
        if name == "too_small":
            size = f"{self.shown_w[position]}x{self.shown_h[position]}"
            return f"{size} < {options.min_image_size}"
        if name == "bad_aspect_ratio":
            return f"{float(self.ratio[position]):.2f} > {options.max_aspect_ratio:g}"
        if name == "few_caption_words":
            return f"{self.words[position]} < {options.min_caption_words}"
        if name == "wrong_lang":
            return str(lang[position])
        if name == "no_entry":
            return "the caption matches no entry"
        if name != "low_clip_score":
            return head_detail(self.table, options, name, position)
        score = self.score[position]
        shown = None if np.isnan(score) else round(float(score), 4)
        return f"{shown} < {self.threshold:.4f}"

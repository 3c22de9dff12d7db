"""Decide phase: keep or drop every raw sample, with every reason that applied, in one table.

Rules in order: download status, decode errors, image size, aspect ratio, caption words,
language, CLIP score (fixed threshold, or the top fraction as DataComp), overlap with eval
sets, then near duplicates (pHash within a Hamming distance, grouped transitively; one sample
kept per group: highest CLIP score, then most pixels, then smallest key).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from wit_pipeline.core.errors import InputError
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.scoring import duplicate_groups
from wit_pipeline.stages.filter.decontaminate import EvalSet, overlapping


@dataclass(frozen=True)
class DecideOptions:
    """Thresholds of the decide phase; each is a command-line flag."""

    min_clip_score: float | None = None
    keep_fraction: float | None = None
    min_image_size: int = 0
    max_aspect_ratio: float = 3.0
    min_caption_words: int = 0
    langs: frozenset[str] | None = None
    dedupe_distance: int = 8
    dedupe: bool = True
    eval_sets: tuple[EvalSet, ...] = ()


@dataclass
class Decisions:
    """The decisions table, and the facts the funnel line prints."""

    table: pa.Table
    funnel: dict[str, int]
    clip_threshold: float | None
    eval_overlap: dict[str, tuple[int, int]]

    def line(self) -> str:
        """The funnel for people: kept, then each primary reason."""
        total = self.table.num_rows
        kept = self.funnel.get("kept", 0)
        share = 100.0 * kept / total if total else 0.0
        dropped = ", ".join(f"{k} {v:,}" for k, v in self.funnel.items() if k != "kept") or "none"
        text = f"{total:,} samples: kept {kept:,} ({share:.1f}%); dropped: {dropped}"
        if self.clip_threshold is not None:
            text += f"; CLIP threshold {self.clip_threshold:.4f}"
        for name, (hits, size) in self.eval_overlap.items():
            share = 100.0 * hits / size if size else 0.0
            text += f"; eval overlap {name}: {share:.1f}% ({hits} of {size})"
        return text


def load_samples(raw_dir: Path, scores_dir: Path) -> list[dict[str, Any]]:
    """Every raw sample joined with its scores, in shard and key order."""
    samples: list[dict[str, Any]] = []
    for parquet in sorted(raw_dir.glob("[0-9]*.parquet")):
        shard = parquet.stem
        columns = ["key", "status", "error_code", "original_width", "original_height"]
        raw = pq.read_table(parquet, columns=columns).to_pylist()
        scores_path = scores_dir / f"{shard}.parquet"
        if not scores_path.is_file():
            raise InputError(f"{scores_path}: missing; run the score phase first")
        scores = {r["key"]: r for r in pq.read_table(scores_path).to_pylist()}
        for row in raw:
            samples.append({**scores.get(row["key"], {}), **row, "shard": shard})
    if not samples:
        raise InputError(f"{raw_dir}: no raw shards; run download first")
    return samples


def _clip_threshold(samples: list[dict], options: DecideOptions) -> float | None:
    if options.min_clip_score is None and options.keep_fraction is None:
        return None
    scores = np.array([s["clip_score"] for s in samples if s.get("clip_score") is not None])
    if scores.size == 0:
        raise InputError(
            "no CLIP scores in scores/: score with a --clip-model first "
            "(not 'none') to filter by CLIP score"
        )
    if options.min_clip_score is not None:
        return options.min_clip_score
    return float(np.quantile(scores, 1.0 - options.keep_fraction, method="higher"))


def _rule_reasons(sample: dict, options: DecideOptions, threshold: float | None) -> list[tuple]:
    """(reason, detail) for every rule before eval overlap and dedupe that drops `sample`."""
    reasons = []
    if sample["status"] != "success":
        return [(sample["status"], sample.get("error_code"))]
    if sample.get("error"):
        # the score phase's errors start with their kind: missing_image, bad_member, ...
        return [(sample["error"].split(":", 1)[0], sample["error"])]
    if sample.get("width") is None:
        return [("decode_error", "no scores for this sample")]
    # size rules look at the image as published, not at its resized copy in raw/
    width = sample.get("original_width") or sample["width"]
    height = sample.get("original_height") or sample["height"]
    if min(width, height) < options.min_image_size:
        reasons.append(("too_small", f"{width}x{height} < {options.min_image_size}"))
    ratio = max(width, height) / max(1, min(width, height))
    if ratio > options.max_aspect_ratio:
        reasons.append(("bad_aspect_ratio", f"{ratio:.2f} > {options.max_aspect_ratio:g}"))
    words = sample.get("caption_words") or 0
    if words < options.min_caption_words:
        reasons.append(("few_caption_words", f"{words} < {options.min_caption_words}"))
    if options.langs and sample.get("lang") not in options.langs:
        reasons.append(("wrong_lang", str(sample.get("lang"))))
    score = sample.get("clip_score")
    if threshold is not None and (score is None or score < threshold):
        reasons.append(
            ("low_clip_score", f"{score if score is None else round(score, 4)} < {threshold:.4f}")
        )
    return reasons


def _best(members: list[int], samples: list[dict]) -> int:
    def rank(i: int) -> tuple:
        s = samples[i]
        score = s.get("clip_score")
        return (-(score if score is not None else -2.0), -(s["width"] * s["height"]), s["key"])

    return min(members, key=rank)


def decide(samples: list[dict[str, Any]], options: DecideOptions) -> Decisions:
    """Decisions for every sample; pure, so a dry run and the real run agree."""
    threshold = _clip_threshold(samples, options)
    reasons = [_rule_reasons(s, options, threshold) for s in samples]
    hashed = [
        i
        for i, s in enumerate(samples)
        if s.get("phash") is not None and not s.get("error") and s["status"] == "success"
    ]
    hashes = np.array([samples[i]["phash"] for i in hashed], dtype=np.uint64)
    overlap: dict[str, tuple[int, int]] = {}
    for eval_set in options.eval_sets:
        hits, matched = overlapping(hashes, eval_set, options.dedupe_distance)
        overlap[eval_set.name] = (matched, len(eval_set.hashes))
        for position in hits:
            reasons[hashed[position]].append(("eval_overlap", eval_set.name))
    duplicate_of: list[str | None] = [None] * len(samples)
    if hashes.size and options.dedupe:
        groups: dict[int, list[int]] = {}
        for position, label in enumerate(duplicate_groups(hashes, options.dedupe_distance)):
            groups.setdefault(int(label), []).append(hashed[position])
        for members in groups.values():
            candidates = [i for i in members if not reasons[i]]
            if len(members) < 2 or not candidates:
                continue
            kept = _best(candidates, samples)
            for i in members:
                if i != kept:
                    reasons[i].append(("duplicate", samples[kept]["key"]))
                    duplicate_of[i] = samples[kept]["key"]
    funnel = Counter(r[0][0] if r else "kept" for r in reasons)
    table = pa.Table.from_pylist(
        schema=load_schema("decisions").arrow,
        mapping=[
            {
                "key": s["key"],
                "shard": s["shard"],
                "keep": not r,
                "reason": r[0][0] if r else "kept",
                "reasons": [name for name, _ in r],
                "detail": (str(r[0][1]) if r[0][1] is not None else None) if r else None,
                "duplicate_of": d,
                "clip_score": s.get("clip_score"),
                "clip_model": s.get("clip_model"),
                "phash": s.get("phash"),
                "width": s.get("width"),
                "height": s.get("height"),
            }
            for s, r, d in zip(samples, reasons, duplicate_of, strict=True)
        ],
    )
    return Decisions(
        table=table,
        funnel=dict(funnel.most_common()),
        clip_threshold=threshold,
        eval_overlap=overlap,
    )

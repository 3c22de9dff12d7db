"""Decide phase: keep or drop every raw sample, with every reason that applied, in one table.

Rules in order: the blocklist (`blocklist`), download status, decode errors, image size, aspect
ratio, caption words, language, CLIP score (fixed threshold, or the top fraction as DataComp),
classifier heads (`head_rules`), overlap with eval sets, then near duplicates
(`wit_pipeline.scoring.dedupe`: views of the pictures, whole, unpadded, cropped and mirrored,
matched by pHash and confirmed by colour hash and aspect ratio; the best sample is kept: highest
CLIP score, then most pixels, then smallest key). Eval images are matched with the samples the
same way, in the same index pass. Then semantic duplicates among the samples still kept
(`semantic`: SemDeDup over saved image embeddings, the best kept by the same rank). With an
entry list, `no_entry` is a per-sample rule and MetaCLIP's balancing (`balanced_out`) comes
last, over what every other rule keeps (`balance`).

Columnar, in two passes over the shards so memory grows by a few dozen bytes per sample: the
first keeps only what the global steps need (the CLIP scores for a top-fraction threshold, and
per hashed sample its hashes, aspect and rank), the second recomputes each shard's rules and
writes its decisions (`sample_rules` holds the rules of one shard).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wit_pipeline.core.atomic import atomic_path
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.scoring.dedupe import DedupeRule, Matches, Views, duplicate_of, matched_pairs
from wit_pipeline.scoring.entries import EntryList
from wit_pipeline.scoring.views import describe_match
from wit_pipeline.stages.filter.balance import Balancer, Balancing
from wit_pipeline.stages.filter.blocklist import Blocklist
from wit_pipeline.stages.filter.decontaminate import EvalSet
from wit_pipeline.stages.filter.head_rules import HeadRule
from wit_pipeline.stages.filter.sample_rules import ShardRules, read_shard, shard_paths
from wit_pipeline.stages.filter.semantic import semantic_duplicates
from wit_pipeline.stages.filter.shard_views import shard_views


@dataclass(frozen=True)
class DecideOptions:
    """Thresholds of the decide phase; each is a command-line flag."""

    min_clip_score: float | None = None
    keep_fraction: float | None = None
    min_image_size: int = 0
    max_aspect_ratio: float = 3.0
    min_caption_words: int = 0
    langs: frozenset[str] | None = None
    dedupe_distance: int = DedupeRule.max_distance
    dedupe: bool = True
    dedupe_colour_distance: int = DedupeRule.max_colour_distance
    dedupe_texture_change: float = DedupeRule.max_texture_change
    dedupe_grouping: str = DedupeRule.grouping
    eval_sets: tuple[EvalSet, ...] = ()
    # safety (issue 21): heads, blocklist, semantic dedupe
    head_rules: tuple[HeadRule, ...] = ()
    blocklist: Blocklist | None = None
    semantic_dedupe: float | None = None
    semantic_clusters: int | None = None
    semantic_probes: int = 1
    entries: EntryList | None = None
    require_entry: bool = False
    balance_cap: int | None = None
    balance_seed: int = 0

    def balancer(self, scores_dir: Path) -> Balancer | None:
        """The metadata rules' state for one decide run (None without an entry list)."""
        if self.entries is None:
            return None
        settings = Balancing(self.entries, self.require_entry, self.balance_cap, self.balance_seed)
        return Balancer(settings, scores_dir)


@dataclass
class Decisions:
    """What the decide phase found: the funnel, the CLIP threshold and the eval overlap."""

    rows: int
    funnel: dict[str, int]
    clip_threshold: float | None
    eval_overlap: dict[str, tuple[int, int]]

    def line(self) -> str:
        """The funnel for people: kept, then each primary reason."""
        kept = self.funnel.get("kept", 0)
        share = 100.0 * kept / self.rows if self.rows else 0.0
        dropped = ", ".join(f"{k} {v:,}" for k, v in self.funnel.items() if k != "kept") or "none"
        text = f"{self.rows:,} samples: kept {kept:,} ({share:.1f}%); dropped: {dropped}"
        if self.clip_threshold is not None:
            text += f"; CLIP threshold {self.clip_threshold:.4f}"
        for name, (hits, size) in self.eval_overlap.items():
            share = 100.0 * hits / size if size else 0.0
            text += f"; eval overlap {name}: {share:.1f}% ({hits} of {size})"
        return text


@dataclass
class _Hashed:
    """Per hashed sample (downloaded, decoded, no score error), in global row order: lists of
    per-shard arrays until `take` joins one (and lets the parts go)."""

    rows: list[np.ndarray] = field(default_factory=list)
    views: list[Views] = field(default_factory=list)
    score: list[np.ndarray] = field(default_factory=list)
    pixels: list[np.ndarray] = field(default_factory=list)
    keepable: list[np.ndarray] = field(default_factory=list)
    keys_rise: bool = True

    def take(self, name: str) -> np.ndarray:
        """One column for every hashed sample; its per-shard parts are released."""
        parts = getattr(self, name)
        joined = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        parts.clear()
        return joined


@dataclass
class _Global:
    """What the second pass needs from the first: global row numbers of eval hits per set
    and of duplicates (row, kept row, pHash and colour distances of the views that matched, and
    which views they were, and the pictures' texture change), with the keys of the samples
    they duplicate."""

    eval_hits: dict[str, np.ndarray]
    duplicates: np.ndarray
    kept_keys: dict[int, str]
    edits: list[str | None]
    texture_changes: list[float | None]
    semantic: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    """(row, kept row) of every semantic duplicate, by row."""


def _clip_threshold(paths: list[tuple[str, Path, Path]], options: DecideOptions) -> float | None:
    if options.min_clip_score is None and options.keep_fraction is None:
        return None
    parts = []
    for _, _, scores in paths:
        column = pq.read_table(scores, columns=["clip_score"]).column("clip_score").drop_null()
        parts.append(column.to_numpy().astype(np.float64))
    scores = np.concatenate(parts) if parts else np.zeros(0)
    if scores.size == 0:
        raise InputError(
            "no CLIP scores in scores/: score with a --clip-model first "
            "(not 'none') to filter by CLIP score"
        )
    if options.min_clip_score is not None:
        return options.min_clip_score
    return float(np.quantile(scores, 1.0 - options.keep_fraction, method="higher"))


def _rank(hashed: _Hashed, key_ranks: np.ndarray | None) -> np.ndarray:
    """A permutation: 0 for the best sample (highest CLIP score, most pixels, smallest key)."""
    score = hashed.take("score")
    pixels = hashed.take("pixels")
    ties = key_ranks if key_ranks is not None else np.arange(score.size)
    order = np.lexsort((ties, -pixels, -score))
    del score, pixels, ties
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return rank


def _shard_rules(
    path: tuple[str, Path, Path],
    options: DecideOptions,
    threshold: float | None,
    balancer: Balancer | None,
) -> tuple[ShardRules, pa.Array | None]:
    """One shard's rules, and its matched entry ids when there is an entry list."""
    shard, raw, scores = path
    table = read_shard(raw, scores, options)
    if balancer is None:
        return ShardRules(table, options, threshold), None
    ids = balancer.matches(shard, table.column("key"))
    return ShardRules(table, options, threshold, balancer.no_entry(ids)), ids


def _first_pass(
    paths: list[tuple[str, Path, Path]],
    options: DecideOptions,
    threshold: float | None,
    balancer: Balancer | None,
) -> tuple[_Hashed, int]:
    """The hashed samples' dedupe facts, and how many rows there are. Checks on the way that
    the keys rise strictly through the shards: the row number is then the key order (as with
    img2dataset's keys), and no key needs to be held for the ranking."""
    hashed = _Hashed()
    offset, last_key, count = 0, None, 0
    for path in paths:
        rules, ids = _shard_rules(path, options, threshold, balancer)
        if balancer is not None:
            balancer.collect(offset, ids, ~rules.any_rule)
        scores = path[2]
        positions = np.flatnonzero(rules.hashed)
        if options.dedupe or options.eval_sets or options.semantic_dedupe is not None:
            hashed.rows.append(positions + offset)
            hashed.views.append(shard_views(scores, rules.keys, positions, count))
            hashed.keepable.append(~rules.any_rule[positions])
            count += positions.size
        if options.dedupe or options.semantic_dedupe is not None:
            hashed.score.append(rules.rank_score[positions].astype(np.float32))
            hashed.pixels.append(rules.pixels[positions])
        if rules.count:
            keys = rules.keys
            rising = rules.count < 2 or pc.all(pc.less(keys[:-1], keys[1:])).as_py()
            if not rising or (last_key is not None and keys[0].as_py() <= last_key):
                hashed.keys_rise = False
            last_key = keys[-1].as_py()
        offset += rules.count
    return hashed, offset


def _key_ranks(paths: list[tuple[str, Path, Path]], rows: np.ndarray) -> np.ndarray:
    """The rank of each of these rows' keys among them (when keys do not rise with rows)."""
    parts, offset = [], 0
    for _, raw, _ in paths:
        keys = pq.read_table(raw, columns=["key"]).column("key")
        inside = rows[(rows >= offset) & (rows < offset + len(keys))]
        parts.extend(keys.take(pa.array(inside - offset)).chunks)
        offset += len(keys)
    return pc.rank(pa.chunked_array(parts, pa.string()), tiebreaker="first").to_numpy()


def _global_steps(
    paths: list[tuple[str, Path, Path]],
    options: DecideOptions,
    threshold: float | None,
    balancer: Balancer | None = None,
) -> tuple[_Global, dict[str, tuple[int, int]], int]:
    """The first pass, then one matching of every hashed sample's views with each other and
    with the eval images': the eval overlap, then the dedupe."""
    hashed, total = _first_pass(paths, options, threshold, balancer)
    if total == 0:
        raise InputError(f"{paths[0][1].parent}: no raw shards; run download first")
    rows = hashed.take("rows")
    keepable = hashed.take("keepable")
    count = rows.size
    rule = DedupeRule(
        max_distance=options.dedupe_distance,
        max_colour_distance=options.dedupe_colour_distance,
        max_texture_change=options.dedupe_texture_change,
        grouping=options.dedupe_grouping,
    )
    parts, starts = [Views.concat(hashed.views)], []
    hashed.views.clear()
    for eval_set in options.eval_sets:
        starts.append(count + sum(e.size for e in options.eval_sets[: len(starts)]))
        parts.append(eval_set.views.shifted(starts[-1]))
    hashing = count and (options.dedupe or options.eval_sets)
    matches = matched_pairs(Views.concat(parts), rule) if hashing else Matches.empty()
    overlap, eval_hits = {}, {}
    for eval_set, first in zip(options.eval_sets, starts, strict=True):
        inside = (matches.pairs[:, 1] >= first) & (matches.pairs[:, 1] < first + eval_set.size)
        cross = matches.pairs[inside & (matches.pairs[:, 0] < count)]
        hits = np.unique(cross[:, 0])
        overlap[eval_set.name] = (int(np.unique(cross[:, 1]).size), eval_set.size)
        eval_hits[eval_set.name] = rows[hits]
        keepable[hits] = False
    duplicates, edits, changes = np.zeros((0, 4), dtype=np.int64), [], []
    semantic = options.semantic_dedupe is not None
    if count and (options.dedupe or semantic):
        key_ranks = None if hashed.keys_rise else _key_ranks(paths, rows)
        rank = _rank(hashed, key_ranks)
    if count and options.dedupe:
        pairs = matches.pairs[matches.pairs[:, 1] < count]
        target = duplicate_of(pairs, rank, keepable, rule.grouping)
        marked = np.flatnonzero(target >= 0)
        found = matches.find(marked, target[marked])
        known = found >= 0
        phash_d = np.where(known, matches.phash_distance[found], -1)
        colour_d = np.where(known, matches.colour_distance[found], -1)
        duplicates = np.stack([rows[marked], rows[target[marked]], phash_d, colour_d], axis=1)
        edits = [
            describe_match(*_kinds_from(matches, row, sample)) if row >= 0 else None
            for row, sample in zip(found.tolist(), marked.tolist(), strict=True)
        ]
        texture = matches.texture_change.tolist()
        changes = [texture[row] if row >= 0 else None for row in found.tolist()]
    similar = np.zeros((0, 2), np.int64)
    if count and semantic:
        survivors = keepable.copy()
        survivors[np.searchsorted(rows, duplicates[:, 0])] = False
        similar = semantic_duplicates(paths, rows, rank, survivors, options)
    kept_keys = _keys_of(paths, np.unique(np.concatenate([duplicates[:, 1], similar[:, 1]])))
    facts = _Global(eval_hits, duplicates, kept_keys, edits, changes, semantic=similar)
    return facts, overlap, total


def _kinds_from(matches: Matches, row: int, sample: int) -> tuple[int, int]:
    """The kinds of the matched views: the duplicate's first, then the kept sample's."""
    first, second = matches.kinds[row].tolist()
    return (first, second) if matches.pairs[row, 0] == sample else (second, first)


def _keys_of(paths: list[tuple[str, Path, Path]], rows: np.ndarray) -> dict[int, str]:
    """The keys of these global row numbers (sorted), read shard by shard."""
    found: dict[int, str] = {}
    offset = 0
    for _, raw, _ in paths:
        count = pq.ParquetFile(raw).metadata.num_rows
        inside = rows[(rows >= offset) & (rows < offset + count)]
        if inside.size:
            keys = pq.read_table(raw, columns=["key"]).column("key")
            found.update(zip(inside.tolist(), keys.take(inside - offset).to_pylist(), strict=True))
        offset += count
    return found


def _shard_decisions(
    shard: str,
    rules: ShardRules,
    offset: int,
    facts: _Global,
    balanced: tuple[Balancer, pa.Array] | None = None,
) -> tuple[pa.Table, Counter]:
    """One shard's decisions, with the primary reasons counted."""
    reasons = rules.reasons()
    for name, hit_rows in facts.eval_hits.items():
        inside = hit_rows[(hit_rows >= offset) & (hit_rows < offset + rules.count)]
        for position in (inside - offset).tolist():
            reasons[position].append(("eval_overlap", name))
    duplicate_keys: list[str | None] = [None] * rules.count
    phash_d: list[int | None] = [None] * rules.count
    colour_d: list[int | None] = [None] * rules.count
    texture_d: list[float | None] = [None] * rules.count
    edits: list[str | None] = [None] * rules.count
    source = facts.duplicates[:, 0]
    lo, hi = np.searchsorted(source, [offset, offset + rules.count])
    for at, (row, target, phash, colour) in enumerate(facts.duplicates[lo:hi].tolist(), lo):
        key = facts.kept_keys[target]
        reasons[row - offset].append(("duplicate", key))
        duplicate_keys[row - offset] = key
        if phash >= 0:
            phash_d[row - offset], colour_d[row - offset] = phash, colour
            texture_d[row - offset] = facts.texture_changes[at]
            edits[row - offset] = facts.edits[at]
    lo, hi = np.searchsorted(facts.semantic[:, 0], [offset, offset + rules.count])
    for row, target in facts.semantic[lo:hi].tolist():
        reasons[row - offset].append(("semantic_duplicate", facts.kept_keys[target]))
        duplicate_keys[row - offset] = facts.kept_keys[target]
    if balanced is not None:
        alive = np.array([not r for r in reasons], dtype=bool)
        for position, detail in balanced[0].balanced_out(rules.keys, balanced[1], alive):
            reasons[position].append(("balanced_out", detail))
    primary = [r[0][0] if r else "kept" for r in reasons]
    table = pa.table(
        {
            "key": rules.keys,
            "shard": pa.array([shard] * rules.count, pa.string()),
            "keep": pa.array([not r for r in reasons], pa.bool_()),
            "reason": pa.array(primary, pa.string()),
            "reasons": pa.array([[name for name, _ in r] for r in reasons], pa.list_(pa.string())),
            "detail": pa.array(
                [(str(r[0][1]) if r[0][1] is not None else None) if r else None for r in reasons],
                pa.string(),
            ),
            "duplicate_of": pa.array(duplicate_keys, pa.string()),
            "duplicate_phash_distance": pa.array(phash_d, pa.int16()),
            "duplicate_colour_distance": pa.array(colour_d, pa.int16()),
            "duplicate_texture_change": pa.array(texture_d, pa.float32()),
            "duplicate_edit": pa.array(edits, pa.string()),
            "clip_score": rules.table.column("clip_score"),
            "clip_model": rules.table.column("clip_model"),
            "phash": rules.table.column("phash"),
            "width": rules.table.column("width"),
            "height": rules.table.column("height"),
        },
        schema=load_schema("decisions").arrow,
    )
    return table, Counter(primary)


@contextmanager
def _decisions_writer(target: Path | None) -> Iterator[pq.ParquetWriter | None]:
    """A parquet writer into `target` through an atomic path; None for a dry run."""
    if target is None:
        yield None
        return
    with atomic_path(target) as temp, pq.ParquetWriter(temp, load_schema("decisions").arrow) as w:
        yield w


def decide(
    raw_dir: Path, scores_dir: Path, options: DecideOptions, target: Path | None = None
) -> Decisions:
    """Decisions for every raw sample, written shard by shard to `target` (atomically) unless
    it is None (a dry run: the same decisions, only counted)."""
    paths = shard_paths(raw_dir, scores_dir)
    threshold = _clip_threshold(paths, options)
    balancer = options.balancer(scores_dir)
    facts, overlap, total = _global_steps(paths, options, threshold, balancer)
    if balancer is not None:
        hits = [*facts.eval_hits.values(), facts.duplicates[:, 0]]
        balancer.settle(np.concatenate(hits))
    funnel: Counter = Counter()
    with _decisions_writer(target) as writer:
        offset = 0
        for path in paths:
            rules, ids = _shard_rules(path, options, threshold, balancer)
            balanced = (balancer, ids) if balancer is not None else None
            table, counts = _shard_decisions(path[0], rules, offset, facts, balanced)
            funnel.update(counts)
            if writer is not None:
                writer.write_table(table)
            offset += rules.count
    return Decisions(
        rows=total,
        funnel=dict(funnel.most_common()),
        clip_threshold=threshold,
        eval_overlap=overlap,
    )

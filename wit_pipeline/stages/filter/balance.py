"""Decide phase, metadata part: `no_entry` and MetaCLIP's balancing (`balanced_out`).

Balancing counts, for every entry, the samples that match it among those every other rule
keeps (dedupe and eval overlap included), then keeps each such sample of an entry counted
above the cap T with probability T / count; a sample stays when any of its entries keeps it
(MetaCLIP, Xu et al. 2023: `t = 20,000` at 400M pairs). A sample that matches no entry is not
balanced (`--require-entry` drops it, as MetaCLIP's curation does). Each draw is a hash of the
seed, the sample's key and the entry's position in the list, so a decision is the same on any
engine, in any shard order, and on every rerun with the same seed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wit_pipeline.scoring.entries import EntryList
from wit_pipeline.stages.filter.entries import read_matches

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class Balancing:
    """What the decide phase does with the matched entries."""

    entry_list: EntryList
    require_entry: bool = False
    cap: int | None = None
    seed: int = 0


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser over uint64s: a bijection that spreads every input bit."""
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (z ^ (z >> np.uint64(31))) & _MASK


def key_hashes(keys: list[str], seed: int) -> np.ndarray:
    """A 64-bit hash of each key under the seed."""
    salt = seed.to_bytes(8, "little", signed=False)
    digests = [hashlib.blake2b(k.encode(), digest_size=8, salt=salt).digest() for k in keys]
    return np.array([int.from_bytes(d, "little") for d in digests], dtype=np.uint64)


def uniform_draws(key_hash: np.ndarray, entry_ids: np.ndarray) -> np.ndarray:
    """One draw in [0, 1) per (sample, entry) pair, from the key's hash and the entry."""
    mixed = _mix(key_hash ^ _mix(entry_ids.astype(np.uint64)))
    return (mixed >> np.uint64(11)).astype(np.float64) / float(1 << 53)


@dataclass
class Balancer:
    """Collects the entries of samples the other rules keep (first pass), counts them once
    the global rules are known (`settle`), then decides shard by shard (`balanced_out`)."""

    balancing: Balancing
    scores_dir: Path
    rows: list[np.ndarray] = field(default_factory=list)
    lengths: list[np.ndarray] = field(default_factory=list)
    ids: list[np.ndarray] = field(default_factory=list)
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def matches(self, shard: str, keys: pa.ChunkedArray) -> pa.Array:
        """The shard's matched entry ids per sample, from the score phase's cache."""
        return read_matches(self.scores_dir, shard, self.balancing.entry_list, keys)

    def no_entry(self, ids: pa.Array) -> np.ndarray | None:
        """Samples that `--require-entry` drops (None when it is not asked for)."""
        if not self.balancing.require_entry:
            return None
        return pc.equal(pc.list_value_length(ids), 0).to_numpy(zero_copy_only=False)

    def collect(self, offset: int, ids: pa.Array, keepable: np.ndarray) -> None:
        """Remember the entries of this shard's samples that the per-sample rules keep."""
        positions = np.flatnonzero(keepable)
        chosen = ids.take(pa.array(positions))
        self.rows.append(positions + offset)
        self.lengths.append(pc.list_value_length(chosen).to_numpy(zero_copy_only=False))
        self.ids.append(chosen.flatten().to_numpy(zero_copy_only=False).astype(np.int64))

    def settle(self, dropped_rows: np.ndarray) -> None:
        """Count each entry over the samples still kept once `dropped_rows` (duplicates, eval
        overlap) are gone: the counts balancing works from."""
        size = len(self.balancing.entry_list.entries)
        rows = np.concatenate(self.rows) if self.rows else np.zeros(0, dtype=np.int64)
        lengths = np.concatenate(self.lengths) if self.lengths else np.zeros(0, dtype=np.int64)
        ids = np.concatenate(self.ids) if self.ids else np.zeros(0, dtype=np.int64)
        self.rows, self.lengths, self.ids = [], [], []
        alive = np.repeat(~np.isin(rows, dropped_rows), lengths)
        self.counts = np.bincount(ids[alive], minlength=size)

    def probabilities(self) -> np.ndarray:
        """Each entry's keep probability: T / count above the cap, else 1."""
        cap = self.balancing.cap
        if cap is None:
            return np.ones(self.counts.size)
        return np.where(self.counts > cap, cap / np.maximum(self.counts, 1), 1.0)

    def balanced_out(
        self, keys: pa.ChunkedArray, ids: pa.Array, alive: np.ndarray
    ) -> list[tuple[int, str]]:
        """(position, detail) of this shard's samples, kept by every other rule, that
        balancing drops."""
        positions = np.flatnonzero(alive)
        chosen = ids.take(pa.array(positions))
        lengths = pc.list_value_length(chosen).to_numpy(zero_copy_only=False)
        flat = chosen.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
        keep_pair = np.ones(flat.size, dtype=bool)
        if self.balancing.cap is not None and flat.size:
            key_list = keys.take(pa.array(positions)).to_pylist()
            hashes = np.repeat(key_hashes(key_list, self.balancing.seed), lengths)
            keep_pair = uniform_draws(hashes, flat) < self.probabilities()[flat]
        starts = (np.cumsum(lengths) - lengths).astype(np.int64)
        has_entry = lengths > 0
        kept = np.ones(positions.size, dtype=bool)
        if has_entry.any():
            kept[has_entry] = np.logical_or.reduceat(keep_pair, starts[has_entry])
        dropped = []
        entries = self.balancing.entry_list.entries
        for at in np.flatnonzero(~kept).tolist():
            mine = flat[starts[at] : starts[at] + lengths[at]]
            head = int(mine[np.argmax(self.counts[mine])])
            detail = f"{entries[head]}: {int(self.counts[head])} > {self.balancing.cap}"
            dropped.append((int(positions[at]), detail))
        return dropped

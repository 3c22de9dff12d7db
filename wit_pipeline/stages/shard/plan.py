"""Plan the shards: which kept sample goes where, computed from decisions.parquet alone.

The kept rows are put in a canonical order (raw shard, raw key) and permuted with the seed, so
the plan depends only on the decisions and the seed, never on the order rows were written in.
Output keys are the zero-padded position in that permutation: unique, sortable, without dots.
Each raw tar's member offsets are indexed once, so writing a shard seeks straight to its
members instead of holding image bytes.
"""

from __future__ import annotations

import hashlib
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wit_pipeline.core.errors import InputError
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.core.validate import require_valid

MEMBER_EXTENSIONS = ("jpg", "txt", "json")
DECISION_COLUMNS = ["key", "shard", "clip_score", "clip_model", "phash", "width", "height"]
KEY_DIGITS = 9
SHARD_DIGITS = 5


@dataclass(frozen=True)
class Member:
    """Where one raw tar member's bytes are: data offset and size."""

    offset: int
    size: int


@dataclass(frozen=True)
class PlannedSample:
    """One output sample: its new key, where its raw members are, and its decision facts."""

    key: str
    raw_tar: str
    raw_key: str
    members: dict[str, Member]
    facts: dict[str, Any]


@dataclass(frozen=True)
class ShardJob:
    """One output shard to write (picklable, the payload of an executor unit)."""

    name: str
    out_dir: str
    samples: tuple[PlannedSample, ...]


def load_kept(decisions_path: Path) -> pa.Table:
    """The kept decision rows in canonical order (raw shard, raw key); InputError if invalid."""
    if not decisions_path.is_file():
        raise InputError(f"{decisions_path}: no decisions; run filter first")
    require_valid(decisions_path, load_schema("decisions"), required=["key", "shard", "keep"])
    table = pq.read_table(decisions_path)
    present = [c for c in DECISION_COLUMNS if c in table.column_names]
    kept = table.filter(pc.equal(table["keep"], True)).select(present)
    if kept.num_rows == 0:
        raise InputError(f"{decisions_path}: no sample is kept; nothing to shard")
    return kept.sort_by([("shard", "ascending"), ("key", "ascending")])


def permutation(count: int, seed: int) -> np.ndarray:
    """The shuffled order of `count` samples for `seed` (numpy PCG64: stable across platforms)."""
    return np.random.default_rng(seed).permutation(count)


def key_width(count: int) -> int:
    """Digits of the output keys: at least KEY_DIGITS, more for huge datasets."""
    return max(KEY_DIGITS, len(str(count - 1)))


def shard_name(index: int, shards: int) -> str:
    """The file name of output shard `index`, e.g. `00000.tar`."""
    return f"{index:0{max(SHARD_DIGITS, len(str(shards - 1)))}d}.tar"


def index_raw_tar(path: Path) -> dict[str, dict[str, Member]]:
    """raw key -> extension -> member location, read from the tar headers only."""
    index: dict[str, dict[str, Member]] = {}
    with tarfile.open(path, "r:") as tar:
        for info in tar:
            if not info.isfile() or "." not in info.name:
                continue
            key, ext = info.name.split(".", 1)
            if ext in MEMBER_EXTENSIONS:
                index.setdefault(key, {})[ext] = Member(info.offset_data, info.size)
    return index


def _fingerprint(seed: int, samples_per_shard: int, keys: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256(f"{seed}:{samples_per_shard}".encode())
    for shard, key in keys:
        digest.update(f"\n{shard}/{key}".encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Plan:
    """Every output shard's job, plus what identifies the plan (to detect a changed input)."""

    jobs: list[ShardJob]
    fingerprint: str
    samples: int


def _samples_in_order(kept: pa.Table, order: np.ndarray, raw_dir: Path) -> list[PlannedSample]:
    rows = kept.to_pylist()
    width = key_width(len(rows))
    indexes: dict[str, dict[str, dict[str, Member]]] = {}
    for raw_shard in sorted({r["shard"] for r in rows}):
        path = raw_dir / f"{raw_shard}.tar"
        if not path.is_file():
            raise InputError(f"{path}: raw shard named in decisions.parquet is missing")
        indexes[raw_shard] = index_raw_tar(path)
    samples = []
    for position, row_index in enumerate(order.tolist()):
        row = rows[row_index]
        members = indexes[row["shard"]].get(row["key"], {})
        missing = [ext for ext in MEMBER_EXTENSIONS if ext not in members]
        if missing:
            raise InputError(
                f"{raw_dir / row['shard']}.tar: kept sample {row['key']} has no "
                f"{', '.join('.' + m for m in missing)} member"
            )
        facts = {c: row.get(c) for c in DECISION_COLUMNS if c not in ("key", "shard")}
        samples.append(
            PlannedSample(
                key=f"{position:0{width}d}",
                raw_tar=str(raw_dir / f"{row['shard']}.tar"),
                raw_key=row["key"],
                members=members,
                facts=facts,
            )
        )
    return samples


def make_plan(
    decisions_path: Path, raw_dir: Path, out_dir: Path, samples_per_shard: int, seed: int
) -> Plan:
    """Split the seed's permutation of the kept samples into shards of `samples_per_shard`."""
    if samples_per_shard < 1:
        raise InputError(f"--samples-per-shard must be at least 1, got {samples_per_shard}")
    kept = load_kept(decisions_path)
    order = permutation(kept.num_rows, seed)
    samples = _samples_in_order(kept, order, raw_dir)
    count = -(-len(samples) // samples_per_shard)
    jobs = [
        ShardJob(
            name=shard_name(i, count),
            out_dir=str(out_dir),
            samples=tuple(samples[i * samples_per_shard : (i + 1) * samples_per_shard]),
        )
        for i in range(count)
    ]
    keys = list(zip(kept["shard"].to_pylist(), kept["key"].to_pylist(), strict=True))
    return Plan(jobs, _fingerprint(seed, samples_per_shard, keys), len(samples))

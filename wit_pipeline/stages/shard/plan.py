"""Plan the shards: which kept sample goes where, computed from decisions.parquet alone.

The kept rows are put in a canonical order (raw shard, raw key) and permuted with the seed, so
the plan depends only on the decisions and the seed, never on the order rows were written in.
Output keys are the zero-padded position in that permutation: unique, sortable, without dots.
Each raw tar's member offsets are indexed once, so writing a shard seeks straight to its
members instead of holding image bytes.

Raw tars may come from others: a kept sample whose members are unusable (missing, not a
regular file, an unsafe name, past the end of a truncated tar, over the size limits, a caption
that is not UTF-8, a JSON member that is not a JSON object) is left out with its reason, before
the permutation, so the plan stays a function of the inputs and the seed. Raw member names are
never used as paths: nothing is extracted.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

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
MAX_IMAGE_BYTES = 64 * 2**20
MAX_TEXT_BYTES = 2**20
"""Largest raw image member copied, and largest caption or JSON member read into memory."""
TAR_TYPE_NAMES = {
    tarfile.SYMTYPE: "symbolic link",
    tarfile.LNKTYPE: "hard link",
    tarfile.CHRTYPE: "character device",
    tarfile.BLKTYPE: "block device",
    tarfile.DIRTYPE: "folder",
    tarfile.FIFOTYPE: "named pipe",
}


@dataclass(frozen=True)
class Member:
    """Where one raw tar member's bytes are: data offset and size."""

    offset: int
    size: int


@dataclass
class RawIndex:
    """One raw tar's usable members by key and extension, and why each unusable key is not."""

    members: dict[str, dict[str, Member]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    tar_problem: str | None = None


@dataclass(frozen=True)
class Rejected:
    """A kept sample left out of the shards, and why."""

    raw_shard: str
    raw_key: str
    reason: str


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


def _unsafe_name(name: str) -> bool:
    """Raw tars are flat (img2dataset's layout): a name with a path separator or a leading '..'
    could point outside a folder it were extracted to."""
    return "/" in name or "\\" in name or name.startswith("..")


def _member_problem(info: tarfile.TarInfo, ext: str, tar_size: int) -> str | None:
    if _unsafe_name(info.name):
        return f"unsafe member name {info.name[:100]!r}"
    if not info.isfile():
        kind = TAR_TYPE_NAMES.get(info.type, f"tar type {info.type!r}")
        return f".{ext} member is not a regular file but a {kind}"
    if info.offset_data + info.size > tar_size:
        return f".{ext} member ends past the end of the tar (truncated)"
    limit = MAX_IMAGE_BYTES if ext == "jpg" else MAX_TEXT_BYTES
    if info.size > limit:
        return f".{ext} member declares {info.size:,} bytes, over the limit of {limit:,}"
    return None


def index_raw_tar(path: Path) -> RawIndex:
    """Members by raw key and extension, read from the tar headers only; a key with an
    unusable member gets a problem instead; a tar unreadable from some point on is noted."""
    index = RawIndex()
    tar_size = os.path.getsize(path)
    try:
        with tarfile.open(path, "r:") as tar:
            for info in tar:
                key, dot, ext = info.name.rpartition(".")
                if not dot or ext not in MEMBER_EXTENSIONS:
                    continue
                problem = _member_problem(info, ext, tar_size)
                if problem is not None:
                    index.problems.setdefault(key, problem)
                else:
                    index.members.setdefault(key, {})[ext] = Member(info.offset_data, info.size)
    except (tarfile.TarError, OSError, EOFError) as exc:
        index.tar_problem = f"raw tar unreadable after its first {len(index.members)} keys ({exc})"
    return index


def _content_problem(handle: IO[bytes], members: dict[str, Member]) -> str | None:
    """Why a sample's caption or JSON member is unusable, read from the open raw tar."""
    txt, meta = members["txt"], members["json"]
    handle.seek(txt.offset)
    try:
        handle.read(txt.size).decode("utf-8")
    except UnicodeDecodeError:
        return ".txt member is not UTF-8"
    handle.seek(meta.offset)
    try:
        parsed = json.loads(handle.read(meta.size))
    except ValueError as exc:
        return f".json member is not JSON ({str(exc)[:80]})"
    return None if isinstance(parsed, dict) else ".json member is not a JSON object"


def sample_problem(index: RawIndex, key: str, handle: IO[bytes]) -> str | None:
    """Why the raw sample `key` cannot be sharded, or None when it can."""
    if key in index.problems:
        return index.problems[key]
    members = index.members.get(key, {})
    missing = [ext for ext in MEMBER_EXTENSIONS if ext not in members]
    if missing:
        where = f"; {index.tar_problem}" if index.tar_problem else ""
        return f"no {', '.join('.' + m for m in missing)} member{where}"
    return _content_problem(handle, members)


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
    rejected: list[Rejected] = field(default_factory=list)


def _usable(kept: pa.Table, raw_dir: Path) -> tuple[pa.Table, list[Rejected], dict]:
    """The kept rows whose raw members can be sharded, the others with their reasons, and the
    raw tar indexes; InputError when a raw tar named by the decisions is missing."""
    rows = kept.to_pylist()
    indexes: dict[str, RawIndex] = {}
    good: list[int] = []
    rejected: list[Rejected] = []
    by_shard: dict[str, list[int]] = {}
    for position, row in enumerate(rows):
        by_shard.setdefault(row["shard"], []).append(position)
    for raw_shard, positions in sorted(by_shard.items()):
        path = raw_dir / f"{raw_shard}.tar"
        if not path.is_file():
            raise InputError(f"{path}: raw shard named in decisions.parquet is missing")
        indexes[raw_shard] = index = index_raw_tar(path)
        with open(path, "rb") as handle:
            for position in positions:
                problem = sample_problem(index, rows[position]["key"], handle)
                if problem is None:
                    good.append(position)
                else:
                    rejected.append(Rejected(raw_shard, rows[position]["key"], problem))
    return kept.take(sorted(good)), rejected, indexes


def _samples_in_order(
    kept: pa.Table, order: np.ndarray, raw_dir: Path, indexes: dict[str, RawIndex]
) -> list[PlannedSample]:
    rows = kept.to_pylist()
    width = key_width(len(rows))
    samples = []
    for position, row_index in enumerate(order.tolist()):
        row = rows[row_index]
        facts = {c: row.get(c) for c in DECISION_COLUMNS if c not in ("key", "shard")}
        samples.append(
            PlannedSample(
                key=f"{position:0{width}d}",
                raw_tar=str(raw_dir / f"{row['shard']}.tar"),
                raw_key=row["key"],
                members=indexes[row["shard"]].members[row["key"]],
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
    kept, rejected, indexes = _usable(load_kept(decisions_path), raw_dir)
    if kept.num_rows == 0:
        first = rejected[0]
        raise InputError(
            f"{raw_dir / first.raw_shard}.tar: none of the {len(rejected)} kept samples can be "
            f"sharded (first: {first.raw_key}: {first.reason})"
        )
    order = permutation(kept.num_rows, seed)
    samples = _samples_in_order(kept, order, raw_dir, indexes)
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
    return Plan(jobs, _fingerprint(seed, samples_per_shard, keys), len(samples), rejected)

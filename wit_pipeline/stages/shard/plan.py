"""Plan the shards: which kept sample goes where, computed from decisions.parquet alone.

The kept rows are put in a canonical order (raw shard, raw key) and permuted with the seed, so
the plan depends only on the decisions and the seed, never on the order rows were written in.
Output keys are the zero-padded position in that permutation: unique, sortable, without dots.
Each raw tar's member offsets are indexed once, so writing a shard seeks straight to its
members instead of holding image bytes. The plan is columnar: each job holds its samples as
Arrow rows (raw shard and key, member offsets and sizes, decision facts; a few tens of bytes a
sample), and only the job writing a shard turns its rows into objects, so the plan's memory
stays small beside the dataset.

Raw tars may come from others: a kept sample whose members are unusable (missing, not a
regular file, an unsafe name, past the end of a truncated tar, over the size limits, a caption
that is not UTF-8, a JSON member that is not a JSON object) is left out with its reason, before
the permutation, so the plan stays a function of the inputs and the seed. Raw member names are
never used as paths: nothing is extracted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wit_pipeline.core import storage
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.core.tar import Member, TarIndex, index_tar
from wit_pipeline.core.validate import require_valid
from wit_pipeline.stages.shard.blur import BlurSpec, check_column

MEMBER_EXTENSIONS = ("jpg", "txt", "json")
OPTIONAL_MEMBERS = ("txt",)
"""Members a raw sample may lack: img2dataset writes no .txt without a caption column."""
ABSENT = Member(0, 0)
"""Where an absent optional member "lies": nothing to read, an empty caption."""
MEMBER_COLUMNS = [f"{ext}_{part}" for ext in MEMBER_EXTENSIONS for part in ("offset", "size")]
"""Columns of a job's rows locating each raw member: jpg_offset, jpg_size, txt_offset, ..."""
DECISION_COLUMNS = ["key", "shard", "clip_score", "clip_model", "phash", "width", "height"]
KEY_DIGITS = 9
SHARD_DIGITS = 5


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
    """One output shard to write (picklable, the payload of an executor unit): its samples as
    table rows in output order (raw shard and key, member offsets and sizes, decision facts),
    turned into `PlannedSample`s only by the job that writes them."""

    name: str
    out_dir: str
    raw_dir: str
    first_position: int
    key_width: int
    rows: pa.Table
    blur: BlurSpec | None = None

    def samples(self) -> Iterator[PlannedSample]:
        """The shard's samples in output order, each with its key (its global position)."""
        facts = [c for c in DECISION_COLUMNS if c not in ("key", "shard")]
        for number, row in enumerate(self.rows.to_pylist()):
            yield PlannedSample(
                key=f"{self.first_position + number:0{self.key_width}d}",
                raw_tar=storage.join(self.raw_dir, f"{row['shard']}.tar"),
                raw_key=row["key"],
                members={
                    ext: Member(row[f"{ext}_offset"], row[f"{ext}_size"])
                    for ext in MEMBER_EXTENSIONS
                },
                facts={c: row.get(c) for c in facts},
            )


def load_kept(decisions_path: Path) -> pa.Table:
    """The kept decision rows in canonical order (raw shard, raw key), only the columns the
    shards need, the model name dictionary-encoded; InputError if invalid."""
    if not decisions_path.is_file():
        raise InputError(f"{decisions_path}: no decisions; run filter first")
    require_valid(decisions_path, load_schema("decisions"), required=["key", "shard", "keep"])
    names = pq.read_schema(decisions_path).names
    present = [c for c in DECISION_COLUMNS if c in names]
    table = pq.read_table(decisions_path, columns=[*present, "keep"])
    kept = table.filter(pc.equal(table["keep"], True)).select(present)
    if kept.num_rows == 0:
        raise InputError(f"{decisions_path}: no sample is kept; nothing to shard")
    kept = kept.sort_by([("shard", "ascending"), ("key", "ascending")]).combine_chunks()
    if "clip_model" in present:
        model = kept.column_names.index("clip_model")
        kept = kept.set_column(model, "clip_model", pc.dictionary_encode(kept["clip_model"]))
    return kept


SHARD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""A raw shard name: a file stem in raw/ (img2dataset writes 00000), never a path."""


def trusted_rows(kept: pa.Table) -> tuple[pa.Table, list[Rejected]]:
    """decisions.parquet may be edited by hand: a row naming a raw shard that is not a plain
    name (`../../outside/secret`) and every repeat of a (shard, key) row are left out, each with
    its reason, so nothing outside raw/ is read and no sample is written twice."""
    shards, keys = kept["shard"].to_pylist(), kept["key"].to_pylist()
    good = np.ones(kept.num_rows, dtype=bool)
    rejected, seen = [], set()
    for row, (shard, key) in enumerate(zip(shards, keys, strict=True)):
        if shard is None or key is None or not SHARD_NAME.match(shard):
            reason = f"decisions.parquet names raw shard {str(shard)[:80]!r}: not a raw shard name"
        elif (shard, key) in seen:
            reason = "decisions.parquet keeps this sample more than once; written once"
        else:
            seen.add((shard, key))
            continue
        good[row] = False
        rejected.append(Rejected(str(shard)[:200], str(key)[:200], reason))
    return (kept if good.all() else kept.filter(pa.array(good))), rejected


def permutation(count: int, seed: int) -> np.ndarray:
    """The shuffled order of `count` samples for `seed` (numpy PCG64: stable across platforms)."""
    return np.random.default_rng(seed).permutation(count)


def key_width(count: int) -> int:
    """Digits of the output keys: at least KEY_DIGITS, more for huge datasets."""
    return max(KEY_DIGITS, len(str(count - 1)))


FORMATS = {"webdataset": ".tar", "parquet": ".parquet"}
"""Output formats and their shards' file extensions."""


def shard_name(index: int, shards: int, extension: str = ".tar") -> str:
    """The file name of output shard `index`, e.g. `00000.tar`."""
    return f"{index:0{max(SHARD_DIGITS, len(str(shards - 1)))}d}{extension}"


def _content_problem(handle: IO[bytes], members: dict[str, Member]) -> str | None:
    """Why a sample's caption or JSON member is unusable, read from the open raw tar."""
    txt, meta = members.get("txt", ABSENT), members["json"]
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


def sample_problem(index: TarIndex, key: str, handle: IO[bytes]) -> str | None:
    """Why the raw sample `key` cannot be sharded, or None when it can."""
    if key in index.problems:
        return index.problems[key]
    members = index.members.get(key, {})
    missing = [e for e in MEMBER_EXTENSIONS if e not in members and e not in OPTIONAL_MEMBERS]
    if missing:
        where = f"; {index.damage}" if index.damage else ""
        return f"no {', '.join('.' + m for m in missing)} member{where}"
    return _content_problem(handle, members)


@dataclass(frozen=True)
class Plan:
    """Every output shard's job, plus what identifies the plan (to detect a changed input)."""

    jobs: list[ShardJob]
    fingerprint: str
    samples: int
    rejected: list[Rejected] = field(default_factory=list)


def _raw_runs(kept: pa.Table) -> list[tuple[str, int, int]]:
    """(raw shard, first row, row count) of each raw shard's rows in the sorted kept table."""
    counts = pc.value_counts(kept["shard"])
    runs, start = [], 0
    for shard, count in zip(
        counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
    ):
        runs.append((shard, start, count))
        start += count
    return runs


def _usable(kept: pa.Table, raw_dir: str, digest: Any) -> tuple[pa.Table, list[Rejected]]:
    """The kept rows whose raw members can be sharded, with their members' offsets and sizes
    as columns, and the others with their reasons; `digest` gets each usable (shard, key).
    One raw tar's index is held at a time. InputError when a raw tar named by the decisions
    is missing. `raw_dir` may be a URL (the tars of a workspace on object storage)."""
    usable = np.zeros(kept.num_rows, dtype=bool)
    places = np.zeros((kept.num_rows, 2 * len(MEMBER_EXTENSIONS)), dtype=np.int64)
    rejected: list[Rejected] = []
    for raw_shard, start, count in _raw_runs(kept):
        path = storage.join(raw_dir, f"{raw_shard}.tar")
        if storage.size(path) is None:
            raise InputError(f"{path}: raw shard named in decisions.parquet is missing")
        index = index_tar(path)
        keys = kept["key"].slice(start, count).to_pylist()
        with storage.open_input(path) as handle:
            for row, key in enumerate(keys, start):
                problem = sample_problem(index, key, handle)
                if problem is not None:
                    rejected.append(Rejected(raw_shard, key, problem))
                    continue
                usable[row] = True
                members = [index.members[key].get(ext, ABSENT) for ext in MEMBER_EXTENSIONS]
                places[row] = [v for m in members for v in (m.offset, m.size)]
                digest.update(f"\n{raw_shard}/{key}".encode())
    table = kept.filter(pa.array(usable))
    for column, values in zip(MEMBER_COLUMNS, places[usable].T, strict=True):
        table = table.append_column(column, pa.array(values))
    return table, rejected


def make_plan(
    decisions_path: Path,
    raw_dir: Path,
    out_dir: Path | str,
    samples_per_shard: int,
    seed: int,
    blur: BlurSpec | None = None,
    output_format: str = "webdataset",
    tar_dir: str | None = None,
) -> Plan:
    """Split the seed's permutation of the kept samples into shards of `samples_per_shard`
    (`.tar` or `.parquet` files by `output_format`); each job holds its own samples' rows (a
    few tens of bytes each), never the whole plan as objects. With `blur`, its box column is
    checked first and it is part of the plan. The raw tars are read from `tar_dir` when given
    (a workspace on object storage keeps them there), else from `raw_dir`."""
    if samples_per_shard < 1:
        raise InputError(f"--samples-per-shard must be at least 1, got {samples_per_shard}")
    extension = FORMATS[output_format]
    tag = "" if output_format == "webdataset" else f":{output_format}"
    digest = hashlib.sha256(f"{seed}:{samples_per_shard}{tag}".encode())
    if blur is not None:
        digest.update(f":blur {blur.column} {blur.detector}".encode())
    kept, untrusted = trusted_rows(load_kept(decisions_path))
    if blur is not None and blur.column is not None:
        for raw_shard, start, count in _raw_runs(kept):
            keys = kept["key"].slice(start, count).to_pylist()
            check_column(raw_dir, raw_shard, blur.column, keys)
    tar_dir = tar_dir or str(raw_dir)
    usable, rejected = _usable(kept, tar_dir, digest)
    rejected = untrusted + rejected
    if usable.num_rows == 0:
        first = rejected[0]
        raise InputError(
            f"{storage.join(tar_dir, first.raw_shard)}.tar: none of the {len(rejected)} kept "
            f"samples can be sharded (first: {first.raw_key}: {first.reason})"
        )
    order = permutation(usable.num_rows, seed)
    count = -(-usable.num_rows // samples_per_shard)
    jobs = [
        ShardJob(
            name=shard_name(i, count, extension),
            out_dir=str(out_dir),
            raw_dir=tar_dir,
            first_position=i * samples_per_shard,
            key_width=key_width(usable.num_rows),
            rows=usable.take(order[i * samples_per_shard : (i + 1) * samples_per_shard]),
            blur=blur,
        )
        for i in range(count)
    ]
    return Plan(jobs, digest.hexdigest()[:16], usable.num_rows, rejected)

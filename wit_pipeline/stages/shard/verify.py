"""Check a folder of WebDataset (or parquet) shards: what `wit-pipeline verify-shards` reports.

Every tar is read to the end (a truncated or corrupt one is a problem, not a crash); each
sample must be one `.jpg`, `.txt` and `.json` under a key without dots, keys unique across the
folder, counts equal to sizes.json, manifest.parquet (when present) naming each key's shard and
offset. Inside a workspace, the samples' raw keys must be exactly the kept decisions, once each.
In a folder the shard stage wrote (it has completion markers), every tar must have its marker,
and the tar and its manifest part must have the sizes and SHA-256 the marker names: on object
storage, where the marker is what commits a shard, an object replaced, cut or never committed is
a problem.
Shards from elsewhere are only read, never extracted: a member with a path for a name, a link or
device, a size past the end or a JSON member that is not JSON is a problem line; only JSON
members are read into memory, up to a size limit. The folder may be an fsspec URL (s3://,
memory://, ...): tars are read through fsspec the same way, member by member. A parquet shard
is checked the same way row by row: an image in every row, its JSON naming its key.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from wit_pipeline.core import storage
from wit_pipeline.core.markers import MARKER_DIR, Markers, size_problem, unit_of
from wit_pipeline.core.tar import MAX_TEXT_BYTES, TarWalk, limit_for, member_problem
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.shard.layout import MANIFEST_FILE, REJECTED_FILE, SIZES_FILE
from wit_pipeline.stages.shard.plan import MEMBER_EXTENSIONS
from wit_pipeline.stages.shard.write import MANIFEST_PARTS, file_sha256, manifest_part

EXPECTED = frozenset(MEMBER_EXTENSIONS)


@dataclass
class _Seen:
    """What the tars hold: per-shard counts, key locations, raw keys (raw shard, raw key)."""

    counts: dict[str, int] = field(default_factory=dict)
    where: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    raw: Counter[tuple[str, str]] = field(default_factory=Counter)


def _check_sample(
    shard: str, key: str, members: dict[str, bytes | None], seen: _Seen, problems: list[str]
) -> None:
    if set(members) != EXPECTED:
        found = ", ".join(sorted(members))
        problems.append(f"{shard}: sample {key} has members [{found}], expected jpg, json, txt")
    data = members.get("json")
    if data is None:
        return
    try:
        meta = json.loads(data)
    except ValueError as exc:
        problems.append(f"{shard}: {key}.json is not JSON ({str(exc)[:80]})")
        return
    if not isinstance(meta, dict):
        problems.append(f"{shard}: {key}.json is not a JSON object")
        return
    if meta.get("key") != key:
        problems.append(f"{shard}: {key}.json names key {meta.get('key')!r}")
    seen.raw[(str(meta.get("raw_shard")), str(meta.get("raw_key")))] += 1


def _read_shard(url: str, seen: _Seen, problems: list[str]) -> None:
    """Read every member header of one tar (and the JSON members), grouping consecutive
    members into samples; memory stays bounded whatever sizes the headers declare."""
    shard = url.rsplit("/", 1)[-1]
    count = 0
    current: tuple[str, dict[str, bytes | None]] | None = None
    tar_size = storage.size(url)
    try:
        with storage.open_input(url) as handle:
            walk = TarWalk(handle, tar_size)
            for entry in walk:
                key, ext = entry.key_ext
                problem = member_problem(entry, limit_for(ext), tar_size)
                if problem:
                    problems.append(f"{shard}: member {entry.name[:100]!r}: {problem}")
                    continue
                if ext not in EXPECTED:
                    problems.append(f"{shard}: member {entry.name}: key with a dot or unknown type")
                data = walk.read(entry, MAX_TEXT_BYTES) if ext == "json" else None
                if current is None or current[0] != key:
                    if current is not None:
                        _check_sample(shard, *current, seen, problems)
                    current = (key, {})
                    seen.where.setdefault(key, []).append((shard, entry.header))
                    count += 1
                current[1][ext] = data
            if walk.damage:
                problems.append(f"{shard}: not a readable tar ({walk.damage})")
    except OSError as exc:
        problems.append(f"{shard}: not a readable tar ({type(exc).__name__}: {exc})")
    if current is not None:
        _check_sample(shard, *current, seen, problems)
    seen.counts[shard] = count


PARQUET_COLUMNS = ["key", "image", "json"]


def _read_parquet_shard(url: str, seen: _Seen, problems: list[str]) -> None:
    """Check every row of one parquet shard (its offset in the manifest: the row number)."""
    shard = url.rsplit("/", 1)[-1]
    table = _read_table(url, PARQUET_COLUMNS, problems)
    if table is None:
        seen.counts[shard] = 0
        return
    images = table["image"].combine_chunks()
    missing = pc.or_(pc.is_null(images), pc.is_null(pc.struct_field(images, "bytes")))
    for number, (key, data, absent) in enumerate(
        zip(table["key"].to_pylist(), table["json"].to_pylist(), missing.to_pylist(), strict=True)
    ):
        if absent:
            problems.append(f"{shard}: row {number} ({key}) has no image bytes")
        seen.where.setdefault(key, []).append((shard, number))
        members = dict.fromkeys(EXPECTED) | {"json": None if data is None else data.encode()}
        _check_sample(shard, key, members, seen, problems)
    seen.counts[shard] = table.num_rows


def _check_sizes(folder: str, seen: _Seen, problems: list[str]) -> None:
    path = storage.join(folder, SIZES_FILE)
    if not storage.exists(path):
        problems.append(f"{path}: missing")
        return
    try:
        sizes = json.loads(storage.read_bytes(path).decode("utf-8"))
    except (OSError, ValueError) as exc:
        problems.append(f"{path}: not readable JSON ({str(exc)[:80]})")
        return
    if not isinstance(sizes, dict) or not all(isinstance(v, int) for v in sizes.values()):
        problems.append(f"{path}: not a mapping of shard names to sample counts")
        return
    for name in sorted(set(sizes) | set(seen.counts)):
        if name not in seen.counts:
            problems.append(f"{path}: lists {name}, which is missing")
        elif name not in sizes:
            problems.append(f"{path}: does not list {name}")
        elif sizes[name] != seen.counts[name]:
            problems.append(f"{path}: {name} has {seen.counts[name]} samples, not {sizes[name]}")


def _object_problem(url: str, facts: dict[str, Any]) -> str | None:
    """What is wrong with the object at `url` by the size and SHA-256 its marker names."""
    problem = size_problem(url, facts)
    if problem:
        return problem
    if "sha256" in facts and file_sha256(url) != facts["sha256"]:
        return "SHA-256 is not the one its marker names (replaced?)"
    return None


def _check_markers(folder: str, shards: list[str], problems: list[str]) -> None:
    """In a folder with completion markers: each shard (tar or parquet) has one, naming the
    size and SHA-256 of the shard and of its manifest part."""
    markers = Markers(folder)
    done = set(markers.done_units())
    if not done:
        return
    for url in shards:
        name = url.rsplit("/", 1)[-1]
        unit = unit_of(name)
        info = markers.info(unit) if unit in done else None
        if info is None:
            problems.append(
                f"{name}: no completion marker {MARKER_DIR}/{unit}.json (never committed)"
            )
            continue
        objects = [(name, url, info)]
        if "manifest_part" in info:
            part = f"{MANIFEST_PARTS}/{manifest_part(name)}"
            objects.append((part, storage.join(folder, part), info["manifest_part"]))
        for shown, object_url, facts in objects:
            problem = _object_problem(object_url, facts)
            if problem:
                problems.append(f"{shown}: {problem}")


def _read_table(path: Path | str, columns: list[str], problems: list[str]) -> pa.Table | None:
    """A parquet file's columns, or None with a problem line when it cannot be read."""
    try:
        return storage.read_table(path, columns)
    except (pa.ArrowException, OSError) as exc:
        problems.append(f"{path}: unreadable ({str(exc).splitlines()[0][:100]})")
        return None


def _check_manifest(folder: str, seen: _Seen, problems: list[str]) -> None:
    path = storage.join(folder, MANIFEST_FILE)
    if not storage.exists(path):
        return
    table = _read_table(path, ["key", "shard", "offset"], problems)
    if table is None:
        return
    listed = set()
    for key, shard, offset in zip(*(table[c].to_pylist() for c in table.column_names), strict=True):
        listed.add(key)
        if key not in seen.where:
            problems.append(f"{path}: key {key} is in the manifest but not in the shards")
        elif [(shard, offset)] != seen.where[key]:
            problems.append(
                f"{path}: key {key} at {shard}@{offset} is not where the shards have it"
            )
    for key in sorted(set(seen.where) - listed)[:10]:
        problems.append(f"{path}: key {key} is missing from the manifest")


def _left_out(folder: str, problems: list[str]) -> Counter[tuple[str, str]]:
    """(raw shard, raw key) of the kept decision rows the shard stage left out, with a reason,
    counted (a sample kept by three rows is written once and left out twice)."""
    path = storage.join(folder, REJECTED_FILE)
    present = storage.exists(path)
    table = _read_table(path, ["raw_shard", "raw_key"], problems) if present else None
    if table is None:
        return Counter()
    return Counter(zip(table["raw_shard"].to_pylist(), table["raw_key"].to_pylist(), strict=True))


def _check_decisions(workspace: Workspace, folder: str, seen: _Seen, problems: list[str]) -> None:
    """Each kept decision row is in the shards once, unless rejected.parquet accounts for it."""
    table = _read_table(workspace.decisions_path, ["key", "shard", "keep"], problems)
    if table is None:
        return
    kept = table.filter(pc.equal(table["keep"], True))
    rows = Counter(zip(kept["shard"].to_pylist(), kept["key"].to_pylist(), strict=True))
    left_out = _left_out(folder, problems)
    expected = {sample: count - left_out[sample] for sample, count in rows.items()}
    missing = [s for s, count in expected.items() if count > 0 and s not in seen.raw]
    for shard, key in sorted(missing)[:10]:
        problems.append(f"kept sample {shard}/{key} is not in the shards")
    for (shard, key), times in sorted(seen.raw.items()):
        wanted = expected.get((shard, key))
        if wanted is None:
            problems.append(f"sample {shard}/{key} is in the shards but not kept")
        elif wanted < 1:
            problems.append(f"sample {shard}/{key} is in the shards and in {REJECTED_FILE}")
        elif times > 1:
            problems.append(f"kept sample {shard}/{key} is in the shards {times} times")


def verify_shards(path: Path | str, workspace: Workspace | None = None) -> list[str]:
    """Problems of the shard folder `path` (a local path or an fsspec URL), one line each
    (empty when all is well); with a workspace, also check the samples against its kept
    decisions (less those the shard stage left out, listed in rejected.parquet)."""
    if workspace is not None:
        workspace.check_layout()
    folder = str(path)
    tars = storage.glob(folder, "*.tar")
    parquets = storage.glob(folder, "[0-9]*.parquet")
    if not tars and not parquets:
        return [f"{folder}: no .tar or .parquet shards"]
    problems: list[str] = []
    seen = _Seen()
    for tar in tars:
        _read_shard(tar, seen, problems)
    for parquet in parquets:
        _read_parquet_shard(parquet, seen, problems)
    for key, places in sorted(seen.where.items()):
        if len(places) > 1:
            shards = ", ".join(shard for shard, _ in places)
            problems.append(f"key {key} appears {len(places)} times ({shards})")
    _check_sizes(folder, seen, problems)
    _check_markers(folder, [*tars, *parquets], problems)
    _check_manifest(folder, seen, problems)
    if workspace is not None:
        _check_decisions(workspace, folder, seen, problems)
    return problems

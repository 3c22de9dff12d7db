"""Check a folder of WebDataset shards: what `wit-pipeline verify-shards` reports.

Every tar is read to the end (a truncated or corrupt one is a problem, not a crash); each
sample must be one `.jpg`, `.txt` and `.json` under a key without dots, keys unique across the
folder, counts equal to sizes.json, manifest.parquet (when present) naming each key's shard and
offset. Inside a workspace, the samples' raw keys must be exactly the kept decisions, once each.
"""

from __future__ import annotations

import json
import tarfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.shard.plan import MEMBER_EXTENSIONS
from wit_pipeline.stages.shard.stage import MANIFEST_FILE, SIZES_FILE

EXPECTED = frozenset(MEMBER_EXTENSIONS)


@dataclass
class _Seen:
    """What the tars hold: per-shard counts, key locations, raw keys (raw shard, raw key)."""

    counts: dict[str, int] = field(default_factory=dict)
    where: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    raw: Counter[tuple[str, str]] = field(default_factory=Counter)


def _check_sample(
    shard: str, key: str, members: dict[str, bytes], seen: _Seen, problems: list[str]
) -> None:
    if set(members) != EXPECTED:
        found = ", ".join(sorted(members))
        problems.append(f"{shard}: sample {key} has members [{found}], expected jpg, json, txt")
    if "json" not in members:
        return
    try:
        meta = json.loads(members["json"])
    except ValueError as exc:
        problems.append(f"{shard}: {key}.json is not JSON ({exc})")
        return
    if meta.get("key") != key:
        problems.append(f"{shard}: {key}.json names key {meta.get('key')!r}")
    seen.raw[(str(meta.get("raw_shard")), str(meta.get("raw_key")))] += 1


def _read_shard(path: Path, seen: _Seen, problems: list[str]) -> None:
    """Read every member of one tar, grouping consecutive members into samples."""
    shard = path.name
    count = 0
    current: tuple[str, dict[str, bytes]] | None = None
    try:
        with tarfile.open(path, "r:") as tar:
            for info in tar:
                if not info.isfile():
                    problems.append(f"{shard}: member {info.name} is not a regular file")
                    continue
                data = tar.extractfile(info).read()
                if len(data) != info.size:
                    problems.append(f"{shard}: member {info.name} is truncated")
                key, _, ext = info.name.partition(".")
                if ext not in EXPECTED:
                    problems.append(f"{shard}: member {info.name}: key with a dot or unknown type")
                if current is None or current[0] != key:
                    if current is not None:
                        _check_sample(shard, *current, seen, problems)
                    current = (key, {})
                    seen.where.setdefault(key, []).append((shard, info.offset))
                    count += 1
                current[1][ext] = data
    except (tarfile.TarError, OSError, EOFError) as exc:
        problems.append(f"{shard}: not a readable tar ({type(exc).__name__}: {exc})")
    if current is not None:
        _check_sample(shard, *current, seen, problems)
    seen.counts[shard] = count


def _check_sizes(folder: Path, seen: _Seen, problems: list[str]) -> None:
    path = folder / SIZES_FILE
    if not path.is_file():
        problems.append(f"{path}: missing")
        return
    sizes = json.loads(path.read_text())
    for name in sorted(set(sizes) | set(seen.counts)):
        if name not in seen.counts:
            problems.append(f"{path}: lists {name}, which is missing")
        elif name not in sizes:
            problems.append(f"{path}: does not list {name}")
        elif int(sizes[name]) != seen.counts[name]:
            problems.append(f"{path}: {name} has {seen.counts[name]} samples, not {sizes[name]}")


def _check_manifest(folder: Path, seen: _Seen, problems: list[str]) -> None:
    path = folder / MANIFEST_FILE
    if not path.is_file():
        return
    table = pq.read_table(path, columns=["key", "shard", "offset"])
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


def _check_decisions(workspace: Workspace, seen: _Seen, problems: list[str]) -> None:
    table = pq.read_table(workspace.decisions_path, columns=["key", "shard", "keep"])
    kept = table.filter(pc.equal(table["keep"], True))
    wanted = set(zip(kept["shard"].to_pylist(), kept["key"].to_pylist(), strict=True))
    for shard, key in sorted(wanted - set(seen.raw))[:10]:
        problems.append(f"kept sample {shard}/{key} is not in the shards")
    for (shard, key), times in sorted(seen.raw.items()):
        if (shard, key) not in wanted:
            problems.append(f"sample {shard}/{key} is in the shards but not kept")
        elif times > 1:
            problems.append(f"kept sample {shard}/{key} is in the shards {times} times")


def verify_shards(path: Path | str, workspace: Workspace | None = None) -> list[str]:
    """Problems of the shard folder `path`, one line each (empty when all is well); with a
    workspace, also check the samples against its kept decisions."""
    folder = Path(path)
    tars = sorted(folder.glob("*.tar"))
    if not tars:
        return [f"{folder}: no .tar shards"]
    problems: list[str] = []
    seen = _Seen()
    for tar in tars:
        _read_shard(tar, seen, problems)
    for key, places in sorted(seen.where.items()):
        if len(places) > 1:
            shards = ", ".join(shard for shard, _ in places)
            problems.append(f"key {key} appears {len(places)} times ({shards})")
    _check_sizes(folder, seen, problems)
    _check_manifest(folder, seen, problems)
    if workspace is not None:
        _check_decisions(workspace, seen, problems)
    return problems

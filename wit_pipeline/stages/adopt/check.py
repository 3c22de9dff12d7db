"""Check one img2dataset shard before it is adopted: its parquet, its stats and its images all
there and in agreement, so a damaged or unfinished shard is refused with one line, not found
halfway through filter."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wit_pipeline.core import storage
from wit_pipeline.core.tar import IMAGE_EXTENSIONS, TarWalk, limit_for, member_problem
from wit_pipeline.stages.adopt.source import SourceShard

REQUIRED = ("url", "key", "status", "error_message", "width", "height")
"""img2dataset's parquet columns the stages read."""
WEBDATASET, FILES, PARQUET = "webdataset", "files", "parquet"


class ShardDamaged(Exception):
    """Why a shard cannot be adopted (one line)."""


@dataclass(frozen=True)
class ShardFacts:
    """What the check learned: the output format, rows and successes, the image column of a
    parquet-format shard, whether a tar can be copied as it is (every sample has its image,
    .txt and .json members)."""

    kind: str
    rows: int
    successes: int
    image_column: str | None = None
    copy_as_is: bool = False


def _members(shard: SourceShard) -> dict[str, set[str]]:
    """Extensions of every sample in the shard's tar or folder, by key."""
    found: dict[str, set[str]] = {}
    if shard.tar is not None:
        size = storage.size(shard.tar)
        with storage.open_input(shard.tar) as handle:
            walk = TarWalk(handle, size)
            for entry in walk:
                key, ext = entry.key_ext
                problem = member_problem(entry, limit_for(ext), size)
                if problem is not None:
                    raise ShardDamaged(f"tar member {entry.name[:100]!r}: {problem}")
                if key:
                    found.setdefault(key, set()).add(ext)
        if walk.damage is not None:
            raise ShardDamaged(f"{shard.name}.tar: {walk.damage}")
        return found
    fs, path = storage.url_to_fs(shard.folder)
    for name in fs.ls(path, detail=False):
        key, dot, ext = name.rstrip("/").rsplit("/", 1)[-1].partition(".")
        if dot:
            found.setdefault(key, set()).add(ext.lower())
    return found


def _stats_count(shard: SourceShard) -> int:
    if shard.stats is None:
        raise ShardDamaged(f"no {shard.name}_stats.json: img2dataset did not finish this shard")
    try:
        count = json.loads(storage.read_bytes(shard.stats))["count"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ShardDamaged(f"{shard.name}_stats.json: unreadable ({exc})") from exc
    if not isinstance(count, int):
        raise ShardDamaged(f"{shard.name}_stats.json: count is {count!r}, not a number")
    return count


def _table(shard: SourceShard) -> tuple[pa.Schema, pa.Table]:
    """The parquet's schema and its key and status columns."""
    if shard.parquet is None:
        raise ShardDamaged(f"no {shard.name}.parquet")
    try:
        with storage.open_input(shard.parquet) as handle:
            schema = pq.ParquetFile(handle).schema_arrow
        missing = [c for c in REQUIRED if c not in schema.names]
        if missing:
            raise ShardDamaged(f"{shard.name}.parquet: no column {missing[0]!r}")
        return schema, storage.read_table(shard.parquet, columns=["key", "status"])
    except (pa.ArrowException, OSError) as exc:
        raise ShardDamaged(f"{shard.name}.parquet: unreadable ({str(exc)[:200]})") from exc


def check_shard(shard: SourceShard) -> ShardFacts:
    """The facts of a sound shard; ShardDamaged naming the first problem otherwise."""
    count = _stats_count(shard)
    schema, table = _table(shard)
    if table.num_rows != count:
        raise ShardDamaged(f"{shard.name}.parquet has {table.num_rows} rows, its stats say {count}")
    keys = table["key"].to_pylist()
    twice = next((k for k, n in Counter(keys).items() if n > 1), None)
    if twice is not None or None in keys:
        raise ShardDamaged(f"{shard.name}.parquet: key {twice!r} appears more than once")
    good = [k for k, s in zip(keys, table["status"].to_pylist(), strict=True) if s == "success"]
    if shard.tar is None and shard.folder is None:
        column = next((e for e in IMAGE_EXTENSIONS if e in schema.names), None)
        if column is None:
            raise ShardDamaged(
                f"no images: no {shard.name}.tar, no {shard.name}/ folder, no image column"
            )
        images = storage.read_table(shard.parquet, columns=["status", column])
        successes = images.filter(pc.equal(images["status"], "success"))
        if successes[column].null_count:
            raise ShardDamaged(f"{shard.name}.parquet: a successful sample has no {column}")
        return ShardFacts(PARQUET, count, len(good), image_column=column)
    members = _members(shard)
    lacking = [k for k in good if not members.get(k, set()) & set(IMAGE_EXTENSIONS)]
    if lacking:
        where = f"{shard.name}.tar" if shard.tar else f"{shard.name}/"
        raise ShardDamaged(
            f"{where}: {len(lacking)} successful samples have no image (first: {lacking[0]})"
        )
    whole = all({"txt", "json"} <= members[k] for k in good)
    kind = WEBDATASET if shard.tar else FILES
    return ShardFacts(kind, count, len(good), copy_as_is=whole and kind == WEBDATASET)

"""Score phase, metadata part: the entries each raw caption matches, into
`scores/entries/NNNNN.parquet` (schema `entries`).

Cached per raw shard and entry list apart from the image scores: another list (or an edited
one) matches the captions again, which takes seconds, and never decodes an image or runs CLIP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from wit_pipeline.core import storage
from wit_pipeline.core.atomic import atomic_path
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.executor import Engine, Unit, forget_units, run_units
from wit_pipeline.core.markers import Markers
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.core.staging import Staging
from wit_pipeline.scoring.entries import EntryList, build_entries, matcher_for
from wit_pipeline.stages.filter.score import raw_fingerprint

ENTRIES_DIR = "entries"


@dataclass(frozen=True)
class MatchJob:
    """The picklable argument of one raw shard's matching."""

    shard: str
    raw_dir: str
    out_dir: str
    entry_list: EntryList

    def staged(self, staging: Staging) -> MatchJob:
        """This job on a node's scratch (a workspace on object storage, core.staging)."""
        raw = staging.fetch(Path(self.raw_dir) / f"{self.shard}.parquet")
        return replace(self, raw_dir=str(Path(raw).parent), out_dir=staging.output(self.out_dir))


def entries_dir(scores_dir: Path) -> Path:
    """Where the matches live: a folder of the scores."""
    return scores_dir / ENTRIES_DIR


def match_shard(job: MatchJob) -> dict[str, Any]:
    """Match one raw shard's captions into entries/SHARD.parquet (atomically); returns counts."""
    raw_dir = Path(job.raw_dir)
    table = pq.read_table(raw_dir / f"{job.shard}.parquet", columns=["key", "caption"])
    matcher = matcher_for(job.entry_list)
    ids = [matcher.match(caption) for caption in table.column("caption").to_pylist()]
    entries = job.entry_list.entries
    out = pa.table(
        {
            "key": table.column("key"),
            "entry_ids": pa.array(ids, pa.list_(pa.int32())),
            "entries": pa.array([[entries[i] for i in row] for row in ids], pa.list_(pa.string())),
        },
        schema=load_schema("entries").arrow,
    )
    with atomic_path(Path(job.out_dir) / f"{job.shard}.parquet") as temp:
        pq.write_table(out, temp)
    return {
        "rows": out.num_rows,
        "matched": sum(1 for row in ids if row),
        "entries": job.entry_list.fingerprint,
        "raw": raw_fingerprint(raw_dir, job.shard),
    }


def match_entries(
    raw_dir: Path,
    scores_dir: Path,
    entry_list: EntryList,
    shards: list[str],
    engine: Engine,
    processes: int = 1,
) -> int:
    """Match every raw shard not yet matched against this list (or rewritten since); returns
    how many were matched now."""
    out = entries_dir(scores_dir)
    markers = Markers(out)
    stale = [
        shard
        for shard in shards
        if (info := markers.info(shard)) is not None
        and (
            info.get("entries") != entry_list.fingerprint
            or info.get("raw") != raw_fingerprint(raw_dir, shard)
        )
    ]
    forget_units(out, stale)
    jobs = [MatchJob(s, str(raw_dir), str(out), entry_list) for s in shards]
    result = run_units(
        out,
        [Unit(j.shard, j) for j in jobs],
        match_shard,
        processes=processes,
        desc="entries",
        progress=engine.progress,
        engine=engine,
    )
    return len(shards) - len(result.skipped)


def pool_captions(raw_dir: Path) -> Iterator[str | None]:
    """Every raw sample's caption, shard by shard (the pool an entry list is built from)."""
    files = sorted(raw_dir.glob("[0-9]*.parquet"))
    if not files:
        raise InputError(f"{raw_dir}: no raw shards; run download first")
    for path in files:
        yield from pq.read_table(path, columns=["caption"]).column("caption").to_pylist()


def write_entry_list(raw_dir: Path, output: str, min_count: int, limit: int) -> int:
    """Build an entry list from the pool's captions (frequent words and bigrams) into `output`:
    MetaCLIP's JSON list when it ends in .json, else one entry per line. Returns its size."""
    entries = build_entries(pool_captions(raw_dir), min_count, limit)
    if not entries:
        raise InputError(f"{raw_dir}: no word or bigram in {min_count} captions or more")
    if output.endswith(".json"):
        text = json.dumps(entries, ensure_ascii=False)
    else:
        text = "\n".join(entries) + "\n"
    storage.write_bytes(output, text.encode("utf-8"))
    return len(entries)


def read_matches(
    scores_dir: Path, shard: str, entry_list: EntryList, keys: pa.ChunkedArray
) -> pa.Array:
    """Each raw sample's matched entry ids (list<int32>), in the order of `keys`; an error
    when the shard was not matched against this entry list."""
    out = entries_dir(scores_dir)
    info = Markers(out).info(shard)
    if info is None or info.get("entries") != entry_list.fingerprint:
        raise InputError(
            f"{out}: shard {shard} has no matches for the entry list {entry_list.source}; "
            "run the score phase with --entries first"
        )
    table = pq.read_table(out / f"{shard}.parquet", columns=["key", "entry_ids"])
    if not table.column("key").equals(keys):
        raise InputError(f"{out / shard}.parquet: keys differ from the raw shard; score again")
    return table.column("entry_ids").combine_chunks()

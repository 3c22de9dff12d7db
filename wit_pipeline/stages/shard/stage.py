"""The shard stage: kept samples from raw/ into shuffled, deterministic WebDataset shards.

Each output shard is one executor unit with a completion marker, so a killed run resumes and
rewrites only the unfinished shards, byte-identically. When every shard is written, the folder
gets the files readers need: `sizes.json` (open_clip), `manifest.parquet`, `stats.json`, the
wids index `index.wids.json`, and `rejected.parquet`: the kept samples whose raw members were
unusable, each with its reason. A plan made from other decisions, seed or shard size than the
finished shards' forgets them first, so a folder never mixes two plans.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from wit_pipeline.core.atomic import atomic_path, write_json_atomic
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.executor import Engine, Unit, run_units
from wit_pipeline.core.markers import STAGE_UNIT, Markers
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.shard.plan import Plan, Rejected, make_plan
from wit_pipeline.stages.shard.write import MANIFEST_PARTS, write_shard

log = logging.getLogger(__name__)

SIZES_FILE = "sizes.json"
MANIFEST_FILE = "manifest.parquet"
STATS_FILE = "stats.json"
WIDS_INDEX_FILE = "index.wids.json"
REJECTED_FILE = "rejected.parquet"
OUTPUT_FILES = (SIZES_FILE, MANIFEST_FILE, STATS_FILE, WIDS_INDEX_FILE, REJECTED_FILE)
REJECTED_SCHEMA = pa.schema(
    [("raw_shard", pa.string()), ("raw_key", pa.string()), ("reason", pa.string())]
)
SHOWN_REJECTIONS = 5


@dataclass
class ShardSummary:
    """What a shard run did."""

    out: Path
    shards: int
    samples: int
    written: int
    resumed: int
    bytes: int
    seconds: float
    rejected: int = 0

    def line(self) -> str:
        """One summary line for people."""
        left_out = (
            f"; {self.rejected} kept samples left out (reasons in {REJECTED_FILE})"
            if self.rejected
            else ""
        )
        return (
            f"{self.samples} samples in {self.shards} shards at {self.out} "
            f"({self.written} written, {self.resumed} already done){left_out}; "
            f"{self.bytes / 1e6:.1f} MB; {self.seconds:.1f} s"
        )


def _log_rejections(rejected: list[Rejected]) -> None:
    """One warning line per left-out sample (the first few; the rest at debug level)."""
    for number, item in enumerate(rejected):
        level = logging.WARNING if number < SHOWN_REJECTIONS else logging.DEBUG
        log.log(level, "raw %s/%s left out: %s", item.raw_shard, item.raw_key, item.reason)


def _forget_other_plans(out: Path, plan: Plan) -> None:
    """Remove shards and markers left by a run with another plan (changed input or options)."""
    markers = Markers(out)
    stale = [
        u
        for u in [*markers.done_units(), STAGE_UNIT]
        if (markers.info(u) or {}).get("plan", plan.fingerprint) != plan.fingerprint
    ]
    if not stale:
        return
    log.info("%s: shards of another plan found; writing every shard again", out)
    markers.clear()
    for path in [*out.glob("[0-9]*.tar"), *(out / MANIFEST_PARTS).glob("*.parquet")]:
        path.unlink()
    for name in OUTPUT_FILES:
        (out / name).unlink(missing_ok=True)


def _write_indexes(
    out: Path, plan: Plan, infos: dict[str, dict[str, Any]], samples_per_shard: int, seed: int
) -> int:
    """Write sizes.json, manifest.parquet, index.wids.json and stats.json; the total bytes."""
    names = [job.name for job in plan.jobs]
    units = [infos[Path(name).stem] for name in names]
    write_json_atomic(
        out / SIZES_FILE, {n: u["samples"] for n, u in zip(names, units, strict=True)}
    )
    parts = [pq.read_table(out / MANIFEST_PARTS / f"{Path(n).stem}.parquet") for n in names]
    manifest = pa.concat_tables(parts).cast(load_schema("manifest").arrow)
    with atomic_path(out / MANIFEST_FILE) as temp:
        pq.write_table(manifest, temp)
    rejected = pa.Table.from_pylist([vars(r) for r in plan.rejected], schema=REJECTED_SCHEMA)
    with atomic_path(out / REJECTED_FILE) as temp:
        pq.write_table(rejected, temp)
    shardlist = [
        {"url": n, "nsamples": u["samples"], "filesize": u["filesize"]}
        for n, u in zip(names, units, strict=True)
    ]
    write_json_atomic(
        out / WIDS_INDEX_FILE,
        {"__kind__": "wids-shard-index-v1", "wids_version": 1, "shardlist": shardlist},
    )
    total = sum(u["filesize"] for u in units)
    write_json_atomic(
        out / STATS_FILE,
        {
            "samples": plan.samples,
            "shards": len(names),
            "samples_per_shard": samples_per_shard,
            "seed": seed,
            "bytes": total,
            "plan": plan.fingerprint,
            "rejected": len(plan.rejected),
        },
    )
    return total


def write_shards(
    workspace: Workspace,
    samples_per_shard: int = 10000,
    seed: int = 0,
    out: Path | str | None = None,
    *,
    processes: int = 1,
    progress: bool = False,
    engine: Engine | None = None,
) -> ShardSummary:
    """Write the kept samples of `workspace` as shuffled WebDataset shards into `out`
    (default `workspace.shards_dir`); resumes a killed run, byte-identically for a seed."""
    start = time.monotonic()
    out_dir = Path(out) if out is not None else workspace.shards_dir
    plan = make_plan(workspace.decisions_path, workspace.raw_dir, out_dir, samples_per_shard, seed)
    workspace.prepare()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot make the shards folder ({exc.strerror})") from exc
    _log_rejections(plan.rejected)
    _forget_other_plans(out_dir, plan)
    result = run_units(
        out_dir,
        [Unit(Path(job.name).stem, job) for job in plan.jobs],
        _ShardWork(plan.fingerprint),
        processes=processes,
        desc="shard",
        progress=progress,
        engine=engine,
    )
    total = _write_indexes(out_dir, plan, result.infos, samples_per_shard, seed)
    Markers(out_dir).mark_stage_done(
        {
            "plan": plan.fingerprint,
            "shards": len(plan.jobs),
            "seconds": round(time.monotonic() - start, 3),
        }
    )
    return ShardSummary(
        out=out_dir,
        shards=len(plan.jobs),
        samples=plan.samples,
        written=len(plan.jobs) - len(result.skipped),
        resumed=len(result.skipped),
        bytes=total,
        seconds=time.monotonic() - start,
        rejected=len(plan.rejected),
    )


@dataclass(frozen=True)
class _ShardWork:
    """The executor's work function: write one shard and tag its marker with the plan."""

    fingerprint: str

    def __call__(self, job: Any) -> dict[str, Any]:
        return {**write_shard(job), "plan": self.fingerprint}

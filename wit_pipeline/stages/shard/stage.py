"""The shard stage: kept samples from raw/ into shuffled, deterministic WebDataset shards.

Each output shard is one executor unit with a completion marker, so a killed run resumes and
rewrites only the unfinished shards, byte-identically. When every shard is written, the folder
gets the files readers need: `sizes.json` (open_clip), `manifest.parquet`, `stats.json`, the
wids index `index.wids.json`, and `rejected.parquet`: the kept samples whose raw members were
unusable, each with its reason. A plan made from other decisions, seed or shard size than the
finished shards' forgets them first, so a folder never mixes two plans.

The folder may be an fsspec URL (s3://, gs://, memory://): each shard is uploaded whole from a
local temporary file, then its marker is written there, so a rerun (from any machine) skips
what is uploaded; the index files and the stage marker come last.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from wit_pipeline.core import storage
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.executor import Engine, Unit, forget_units, mark_stage_done, run_units
from wit_pipeline.core.markers import Markers
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.shard.blur import BlurSpec
from wit_pipeline.stages.shard.detect import load_detector
from wit_pipeline.stages.shard.layout import (
    MANIFEST_FILE,
    OUTPUT_FILES,
    REJECTED_FILE,
    SIZES_FILE,
    STATS_FILE,
    WIDS_INDEX_FILE,
)
from wit_pipeline.stages.shard.options import Options
from wit_pipeline.stages.shard.plan import Plan, Rejected, make_plan
from wit_pipeline.stages.shard.write import MANIFEST_PARTS, manifest_part, write_shard

log = logging.getLogger(__name__)

REJECTED_SCHEMA = pa.schema(
    [("raw_shard", pa.string()), ("raw_key", pa.string()), ("reason", pa.string())]
)
SHOWN_REJECTIONS = 5


@dataclass
class ShardSummary:
    """What a shard run did."""

    out: str
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


def _forget_other_plans(out: str, plan: Plan) -> None:
    """Remove shards and markers left by a run with another plan (changed input or options)."""
    markers = Markers(out)
    infos = [markers.info(unit) or {} for unit in markers.done_units()]
    if all(info.get("plan", plan.fingerprint) == plan.fingerprint for info in infos):
        return
    log.info("%s: shards of another plan found; writing every shard again", out)
    forget_units(out, every=True)
    stale = [
        *storage.glob(out, "[0-9]*.tar"),
        *storage.glob(out, "[0-9]*.parquet"),
        *storage.glob(storage.join(out, MANIFEST_PARTS), "*.parquet"),
        *(storage.join(out, name) for name in OUTPUT_FILES),
    ]
    for url in stale:
        storage.remove(url)


def _write_manifest(out: str, names: list[str]) -> None:
    """Gather the shards' manifest parts into manifest.parquet, one part at a time."""
    schema = load_schema("manifest").arrow
    parts = [storage.join(out, MANIFEST_PARTS, manifest_part(name)) for name in names]
    with (
        storage.atomic_output(storage.join(out, MANIFEST_FILE)) as temp,
        pq.ParquetWriter(temp, schema) as writer,
    ):
        for part in parts:
            writer.write_table(storage.read_table(part).cast(schema))


def _write_indexes(
    out: str, plan: Plan, infos: dict[str, dict[str, Any]], samples_per_shard: int, seed: int
) -> int:
    """Write sizes.json, manifest.parquet, index.wids.json and stats.json; the total bytes.
    The wids index names local shards by file name, remote ones by their full URL."""
    names = [job.name for job in plan.jobs]
    units = [infos[Path(name).stem] for name in names]
    storage.write_json(
        storage.join(out, SIZES_FILE), {n: u["samples"] for n, u in zip(names, units, strict=True)}
    )
    _write_manifest(out, names)
    rejected = pa.Table.from_pylist([vars(r) for r in plan.rejected], schema=REJECTED_SCHEMA)
    with storage.atomic_output(storage.join(out, REJECTED_FILE)) as temp:
        pq.write_table(rejected, temp)
    shardlist = [
        {
            "url": storage.join(out, n) if storage.is_remote(out) else n,
            "nsamples": u["samples"],
            "filesize": u["filesize"],
        }
        for n, u in zip(names, units, strict=True)
    ]
    if all(name.endswith(".tar") for name in names):  # wids reads tars only
        storage.write_json(
            storage.join(out, WIDS_INDEX_FILE),
            {"__kind__": "wids-shard-index-v1", "wids_version": 1, "shardlist": shardlist},
        )
    total = sum(u["filesize"] for u in units)
    storage.write_json(
        storage.join(out, STATS_FILE),
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


def _run_jobs(
    out: str, plan: Plan, processes: int, progress: bool, engine: Engine | None
) -> tuple[dict[str, dict[str, Any]], int]:
    """Write the plan's unfinished shards; every shard's facts, and how many were resumed.
    The executor keeps the markers beside the shards (written after each upload on an object
    store); a shard counts as done only when its file (tar or parquet) and manifest part are
    there, of the sizes its marker names."""
    _forget_other_plans(out, plan)
    sizes = storage.file_sizes(out)
    parts = storage.file_sizes(storage.join(out, MANIFEST_PARTS))
    names = {Path(job.name).stem: job.name for job in plan.jobs}

    def committed(unit: str, info: dict[str, Any]) -> bool:
        part = info.get("manifest_part")
        return sizes.get(names[unit]) == info.get("filesize") and (
            part is None or parts.get(manifest_part(names[unit])) == part.get("filesize")
        )

    result = run_units(
        out,
        [Unit(Path(job.name).stem, job) for job in plan.jobs],
        _ShardWork(plan.fingerprint),
        processes=processes,
        desc="shard",
        progress=progress,
        engine=engine,
        done_if=committed,
    )
    return result.infos, len(result.skipped)


def _make_folder(out: str) -> None:
    """Make the shards folder (a local one; object stores have no folders); InputError when
    it cannot be made, or when a URL's filesystem package is missing."""
    if storage.is_remote(out):
        storage.url_to_fs(out)
        return
    try:
        storage.local_path(out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot make the shards folder ({exc.strerror})") from exc


def write_shards(
    workspace: Workspace,
    samples_per_shard: int = 10000,
    seed: int = 0,
    out: Path | str | None = None,
    *,
    processes: int = 1,
    progress: bool = False,
    engine: Engine | None = None,
    blur: BlurSpec | None = None,
    output_format: str = "webdataset",
) -> ShardSummary:
    """Write the kept samples of `workspace` as shuffled WebDataset shards (parquet ones with
    `output_format="parquet"`) into `out` (default
    `workspace.shards_dir`; a local path or any fsspec URL); resumes a killed run,
    byte-identically for a seed."""
    start = time.monotonic()
    target = str(out) if out is not None else workspace.location(workspace.shards_dir)
    if storage.is_remote(target):
        storage.url_to_fs(target)
    if blur is not None and blur.detector is not None:
        load_detector(blur.detector)  # a bad model file stops the run before any shard
    plan = make_plan(
        workspace.decisions_path,
        workspace.raw_dir,
        target,
        samples_per_shard,
        seed,
        blur=blur,
        output_format=output_format,
        tar_dir=workspace.location(workspace.raw_dir),
    )
    workspace.prepare()
    _make_folder(target)
    _log_rejections(plan.rejected)
    infos, resumed = _run_jobs(target, plan, processes, progress, engine)
    total = _write_indexes(target, plan, infos, samples_per_shard, seed)
    mark_stage_done(
        target,
        {
            "plan": plan.fingerprint,
            "shards": len(plan.jobs),
            "seconds": round(time.monotonic() - start, 3),
        },
    )
    return ShardSummary(
        out=target,
        shards=len(plan.jobs),
        samples=plan.samples,
        written=len(plan.jobs) - resumed,
        resumed=resumed,
        bytes=total,
        seconds=time.monotonic() - start,
        rejected=len(plan.rejected),
    )


@dataclass(frozen=True)
class _ShardWork:
    """The executor's work function: write one shard and tag its facts with the plan."""

    fingerprint: str

    def __call__(self, job: Any) -> dict[str, Any]:
        return {**write_shard(job), "plan": self.fingerprint}


def run(workspace: Workspace, options: Options, engine: Engine) -> ShardSummary:
    """The stage's entry point: write the kept samples as shuffled WebDataset shards."""
    return write_shards(
        workspace,
        samples_per_shard=options.samples_per_shard,
        seed=options.seed,
        out=options.out,
        processes=options.processes,
        progress=engine.progress,
        engine=engine,
        blur=(
            BlurSpec(options.blur_boxes, options.face_detector)
            if options.blur_boxes or options.face_detector
            else None
        ),
        output_format=options.format,
    )

"""The download stage: input URLs -> `raw/` in img2dataset's exact layout, one unit per shard.

The input is split into shards once (plan.py); each shard is downloaded by the executor with a
completion marker, so a killed run resumes with every input row appearing exactly once.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from wit_pipeline.core import storage
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.executor import Engine, Unit, mark_stage_done, run_units
from wit_pipeline.core.markers import Markers
from wit_pipeline.core.options import same_named
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.net.fetch import FetchOptions
from wit_pipeline.stages.download.options import Options
from wit_pipeline.stages.download.plan import (
    PLAN_DIR,
    PLAN_FILE,
    InputSpec,
    check_input,
    key_digits,
    local_input,
    plan_shards,
)
from wit_pipeline.stages.download.unit import DownloadUnit, ResizeOptions, download_shard


@dataclass(frozen=True)
class DownloadOptions:
    """Everything that shapes a download run; the names follow img2dataset's options."""

    fetch: FetchOptions = field(default_factory=FetchOptions)
    resize: ResizeOptions = field(default_factory=ResizeOptions)
    processes: int = 1
    threads: int = 64
    overwrite: bool = False
    retry_failed: bool = False
    progress: bool = True
    engine: Engine = field(default_factory=Engine)


@dataclass
class DownloadSummary:
    """What a download run did, for the summary line and the stage marker."""

    shards: int = 0
    shards_run: int = 0
    shards_skipped: int = 0
    rows: int = 0
    status: dict[str, int] = field(default_factory=dict)
    error_codes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    retried: int = 0

    def line(self) -> str:
        """One summary line for people."""
        ok = self.status.get("success", 0)
        rate = 100.0 * ok / self.rows if self.rows else 0.0
        speed = ok / self.seconds if self.seconds else 0.0
        top = ", ".join(f"{k} {v:,}" for k, v in list(self.error_codes.items())[:6]) or "none"
        return (
            f"downloaded {self.rows:,} rows in {self.shards} shards ({self.shards_run} run, "
            f"{self.shards_skipped} resumed): {ok:,} ok ({rate:.1f}%), "
            f"{self.status.get('failed_to_download', 0):,} failed to download, "
            f"{self.status.get('failed_to_resize', 0):,} failed to resize; top errors: {top}; "
            f"{self.seconds:.1f} s ({speed:,.0f} images/s)"
            + (f"; retried {self.retried:,} rows" if self.retried else "")
        )


RETRY_MARKERS = ".retry"


def _shard_stats(raw_dir: Path, shards: int) -> tuple[int, Counter, Counter]:
    """Rows, statuses and error codes summed over the shards' `_stats.json` files."""
    rows, status, codes = 0, Counter(), Counter()
    for shard in range(shards):
        path = raw_dir / f"{shard:05d}_stats.json"
        if path.is_file():
            stats = json.loads(path.read_text())
            rows += stats["count"]
            status.update({k: stats[k] for k in ("failed_to_download", "failed_to_resize")})
            status["success"] += stats["successes"]
            codes.update(stats.get("error_codes", {}))
    return rows, +status, codes


def download(workspace: Workspace, spec: InputSpec, options: DownloadOptions) -> DownloadSummary:
    """Download every row of the input into the workspace's raw/ folder; resumes by shard.

    With `options.retry_failed`, fetch again only the rows of finished shards that failed for
    a transient reason, rewriting each such shard atomically.
    """
    start = time.monotonic()
    raw_dir = workspace.raw_dir
    if spec.path == workspace.pairs_dir and not Markers(workspace.pairs_dir).stage_done():
        raise InputError(
            f"{workspace.pairs_dir}: scrape has not finished there (no completion marker); "
            "run scrape again, or pass an input file"
        )
    with local_input(spec) as local:
        fingerprint = check_input(local)
        if fingerprint is None and (
            options.overwrite or not (raw_dir / PLAN_DIR / PLAN_FILE).is_file()
        ):
            raise InputError(f"{spec.path}: no such file or folder")
        created = not workspace.root.exists()
        workspace.prepare()
        if options.overwrite and raw_dir.is_dir():
            workspace.remove(raw_dir)
        try:
            shard_inputs = plan_shards(local, raw_dir, fingerprint)
        except InputError:
            if created:  # bad rows found while planning: leave no workspace behind
                shutil.rmtree(workspace.root, ignore_errors=True)
            raise
    digits = key_digits(spec.samples_per_shard)
    jobs = [
        DownloadUnit(
            shard_id=i,
            input_path=str(path),
            raw_dir=str(raw_dir),
            key_digits=digits,
            fetch=options.fetch,
            resize=options.resize,
            threads=options.threads,
            retry_failed=options.retry_failed,
        )
        for i, path in enumerate(shard_inputs)
    ]
    if options.retry_failed:
        unfinished = [
            f"{job.shard_id:05d}"
            for job in jobs
            if not all(
                storage.exists(workspace.location(raw_dir / f"{job.shard_id:05d}{suffix}"))
                for suffix in (".tar", ".parquet")
            )
        ]
        if unfinished:
            raise InputError(
                f"{raw_dir}: shard {unfinished[0]} is not downloaded yet; "
                "run download without --retry-failed first"
            )
        marker_dir = raw_dir / RETRY_MARKERS
    else:
        marker_dir = raw_dir
    result = run_units(
        marker_dir,
        [Unit(f"{job.shard_id:05d}", job) for job in jobs],
        download_shard,
        processes=options.processes,
        desc="download",
        progress=options.progress,
        engine=options.engine,
        replaces=raw_dir if options.retry_failed else None,
    )
    if options.retry_failed:
        shutil.rmtree(marker_dir)
    rows, status, codes = _shard_stats(raw_dir, len(jobs))
    summary = DownloadSummary(
        shards=len(jobs),
        shards_run=len(jobs) - len(result.skipped),
        shards_skipped=len(result.skipped),
        rows=rows,
        status=dict(status),
        error_codes=dict(codes.most_common()),
        seconds=time.monotonic() - start,
        retried=sum(info.get("retried", 0) for info in result.infos.values()),
    )
    mark_stage_done(
        raw_dir,
        {
            "rows": rows,
            "status": summary.status,
            "error_codes": summary.error_codes,
            "seconds": round(summary.seconds, 3),
        },
    )
    return summary


def run(workspace: Workspace, options: Options, engine: Engine) -> DownloadSummary:
    """The stage's entry point: download the input (default: the workspace's pairs) into raw/."""
    spec = InputSpec(
        path=options.input or workspace.pairs_dir,
        url_col=options.url_col,
        caption_col=options.caption_col or None,
        samples_per_shard=options.samples_per_shard,
        header=not options.no_header,
        extra_columns=tuple(c for c in (options.save_additional_columns or "").split(",") if c),
        timeout=options.input_timeout,
        max_bytes=options.max_input_bytes,
        allow_private_networks=options.allow_private_networks,
    )
    fetch = same_named(
        FetchOptions,
        options,
        respect_robots=not options.ignore_robots,
        respect_x_robots_tag=not options.ignore_x_robots_tag,
        disallowed_header_directives=tuple(
            d.strip().lower() for d in options.disallowed_header_directives.split(",") if d.strip()
        ),
    )
    resize = same_named(ResizeOptions, options, encode_quality=options.quality)
    settings = same_named(
        DownloadOptions,
        options,
        fetch=fetch,
        resize=resize,
        progress=engine.progress,
        engine=engine,
    )
    return download(workspace, spec, settings)

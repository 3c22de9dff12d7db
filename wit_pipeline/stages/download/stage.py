"""The download stage: input URLs -> `raw/` in img2dataset's exact layout, one unit per shard.

The input is split into shards once (plan.py); each shard is downloaded by the executor with a
completion marker, so a killed run resumes with every input row appearing exactly once.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from dataclasses import dataclass, field

from wit_pipeline.core.executor import Unit, run_units
from wit_pipeline.core.markers import Markers
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.download.fetch import FetchOptions
from wit_pipeline.stages.download.plan import InputSpec, check_input, key_digits, plan_shards
from wit_pipeline.stages.download.shard import ResizeOptions, ShardJob, download_shard


@dataclass(frozen=True)
class DownloadOptions:
    """Everything that shapes a download run; the names follow img2dataset's options."""

    fetch: FetchOptions = field(default_factory=FetchOptions)
    resize: ResizeOptions = field(default_factory=ResizeOptions)
    processes: int = 1
    threads: int = 64
    overwrite: bool = False
    progress: bool = True


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
        )


def download(workspace: Workspace, spec: InputSpec, options: DownloadOptions) -> DownloadSummary:
    """Download every row of the input into the workspace's raw/ folder; resumes by shard."""
    start = time.monotonic()
    raw_dir = workspace.raw_dir
    fingerprint = check_input(spec)
    if options.overwrite and raw_dir.is_dir():
        shutil.rmtree(raw_dir)
    shard_inputs = plan_shards(spec, raw_dir, fingerprint)
    digits = key_digits(spec.samples_per_shard)
    units = [
        Unit(
            f"{i:05d}",
            ShardJob(
                shard_id=i,
                input_path=str(path),
                raw_dir=str(raw_dir),
                key_digits=digits,
                fetch=options.fetch,
                resize=options.resize,
                threads=options.threads,
            ),
        )
        for i, path in enumerate(shard_inputs)
    ]
    markers = Markers(raw_dir)
    result = run_units(
        raw_dir,
        units,
        download_shard,
        processes=options.processes,
        desc="download",
        progress=options.progress,
    )
    status: Counter = Counter()
    codes: Counter = Counter()
    rows = 0
    for info in result.infos.values():
        rows += info.get("count", 0)
        status.update(info.get("status", {}))
        codes.update(info.get("error_codes", {}))
    summary = DownloadSummary(
        shards=len(units),
        shards_run=len(units) - len(result.skipped),
        shards_skipped=len(result.skipped),
        rows=rows,
        status=dict(status),
        error_codes=dict(codes.most_common()),
        seconds=time.monotonic() - start,
    )
    markers.mark_stage_done(
        {"rows": rows, "status": summary.status, "error_codes": summary.error_codes}
    )
    return summary

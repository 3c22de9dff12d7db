"""Time and throughput per stage, from what the stages leave on disk: each stage declares how
its time is read back (`Stage.timing`: its completion marker's `seconds`; the download falls
back to img2dataset's per-shard `_stats.json`)."""

from __future__ import annotations

from wit_pipeline.core.stage import Timing
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.report.html import Section, not_run, table
from wit_pipeline.stages import PIPELINE


def stage_timings(workspace: Workspace) -> list[Timing]:
    """The timing of every stage that has run, in pipeline order."""
    found = (stage.timing(workspace) for stage in PIPELINE if stage.timing is not None)
    return [timing for timing in found if timing is not None]


def timings_section(workspace: Workspace) -> Section:
    """A table of stages: units, items, wall time, items per second."""
    title = "Time and throughput per stage"
    timings = stage_timings(workspace)
    if not timings:
        return Section("timings", title, not_run("no stage", "wit-pipeline scrape"), ran=False)
    rows = [
        [
            t.stage,
            t.units,
            f"{t.items:,} {t.item_name}",
            f"{t.seconds:.1f} s" if t.seconds is not None else "not recorded",
            f"{t.throughput:,.1f} {t.item_name}/s" if t.throughput is not None else "-",
            t.source if t.seconds is not None else "-",
        ]
        for t in timings
    ]
    body = table(["stage", "units", "work", "wall time", "throughput", "time from"], rows)
    return Section("timings", title, body)

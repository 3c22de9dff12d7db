"""Time and throughput per stage, from what the stages leave on disk.

A stage's time is the `seconds` its completion marker (`.done/_SUCCESS.json`) records; the
download also has img2dataset's per-shard `_stats.json` (start, end, duration), used when its
marker has no time. Counts come from the markers, the stats files and `shards/stats.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from wit_pipeline.core.markers import STAGE_UNIT, Markers
from wit_pipeline.core.status import SCRAPE_UNITS_DIR
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.report.html import Section, not_run, table


@dataclass(frozen=True)
class StageTiming:
    """One stage's work and time; `seconds` is None when the stage did not record it."""

    stage: str
    units: int
    items: int
    item_name: str
    seconds: float | None
    source: str

    @property
    def throughput(self) -> float | None:
        """Items per second."""
        return self.items / self.seconds if self.seconds else None


def _marker_seconds(folder: Path) -> float | None:
    seconds = (Markers(folder).info(STAGE_UNIT) or {}).get("seconds")
    return float(seconds) if isinstance(seconds, int | float) else None


def _unit_infos(folder: Path) -> list[dict]:
    markers = Markers(folder)
    return [markers.info(unit) or {} for unit in markers.done_units()]


def _scrape(workspace: Workspace) -> StageTiming | None:
    info = Markers(workspace.pairs_dir).info(STAGE_UNIT)
    if info is None:
        return None
    units = len(Markers(workspace.root / SCRAPE_UNITS_DIR).done_units())
    pages = int(info.get("counts", {}).get("pages", 0))
    seconds = _marker_seconds(workspace.pairs_dir)
    return StageTiming("scrape", units, pages, "pages", seconds, "stage marker")


def _download(workspace: Workspace) -> StageTiming | None:
    stats = []
    for path in sorted(workspace.raw_dir.glob("[0-9]*_stats.json")):
        try:
            stats.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    if not stats:
        return None
    rows = sum(int(s.get("count", 0)) for s in stats)
    seconds, source = _marker_seconds(workspace.raw_dir), "stage marker"
    if seconds is None:
        starts = [s["start_time"] for s in stats if "start_time" in s]
        ends = [s["end_time"] for s in stats if "end_time" in s]
        seconds = max(ends) - min(starts) if starts and ends else None
        source = "_stats.json (first shard start to last shard end)"
    return StageTiming("download", len(stats), rows, "rows", seconds, source)


def _score(workspace: Workspace) -> StageTiming | None:
    infos = _unit_infos(workspace.scores_dir)
    if not infos:
        return None
    rows = sum(int(i.get("rows", 0)) for i in infos)
    seconds = _marker_seconds(workspace.scores_dir)
    return StageTiming("filter (score)", len(infos), rows, "samples", seconds, "stage marker")


def _shard(workspace: Workspace) -> StageTiming | None:
    infos = _unit_infos(workspace.shards_dir)
    if not infos:
        return None
    samples = sum(int(i.get("samples", 0)) for i in infos)
    seconds = _marker_seconds(workspace.shards_dir)
    return StageTiming("shard", len(infos), samples, "samples", seconds, "stage marker")


def stage_timings(workspace: Workspace) -> list[StageTiming]:
    """The timing of every stage that has run, in pipeline order."""
    found = (_scrape(workspace), _download(workspace), _score(workspace), _shard(workspace))
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

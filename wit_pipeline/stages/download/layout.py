"""Where download writes in the workspace (img2dataset's layout under raw/) and how status
and the report read it back."""

from __future__ import annotations

import json

from wit_pipeline.core.markers import STAGE_UNIT, Markers
from wit_pipeline.core.stage import Output, Timing, View
from wit_pipeline.core.workspace import Workspace

PLAN_DIR = ".input"
PLAN_FILE = "plan.json"
"""raw/.input/plan.json: the shards of the input, written before any download."""


def planned_shards(workspace: Workspace) -> int:
    """Shards in the download plan (0 when there is none yet)."""
    try:
        plan = json.loads((workspace.raw_dir / PLAN_DIR / PLAN_FILE).read_text())
        return len(plan["shards"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _shard_of(name: str) -> str:
    """The raw shard a file belongs to: 00003 for 00003.tar, 00003.parquet, 00003_stats.json."""
    return name.split("_")[0].split(".")[0]


VIEWS = (View("samples", "raw/[0-9]*.parquet", per_shard=True),)
PROGRESS = "{done}/{planned} shards downloaded"
OUTPUTS = (
    Output("raw", "raw", "[0-9]*.*", "parquet", VIEWS, planned_shards, PROGRESS, unit_of=_shard_of),
)


def timing(workspace: Workspace) -> Timing | None:
    """Rows downloaded and the time: the stage marker's, else img2dataset's `_stats.json`
    (first shard start to last shard end)."""
    stats = []
    for path in sorted(workspace.raw_dir.glob("[0-9]*_stats.json")):
        try:
            stats.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    if not stats:
        return None
    rows = sum(int(s.get("count", 0)) for s in stats)
    seconds = (Markers(workspace.raw_dir).info(STAGE_UNIT) or {}).get("seconds")
    source = "stage marker"
    if not isinstance(seconds, int | float):
        starts = [s["start_time"] for s in stats if "start_time" in s]
        ends = [s["end_time"] for s in stats if "end_time" in s]
        seconds = max(ends) - min(starts) if starts and ends else None
        source = "_stats.json (first shard start to last shard end)"
    return Timing("download", len(stats), rows, "rows", seconds, source)

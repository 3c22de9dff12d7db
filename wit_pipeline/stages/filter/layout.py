"""Where filter writes in the workspace (scores/ per raw shard, decisions.parquet) and how
status and the report read it back."""

from __future__ import annotations

from wit_pipeline.core.markers import STAGE_UNIT, Markers
from wit_pipeline.core.stage import Output, Timing, View
from wit_pipeline.core.status import PARTIAL, StageStatus
from wit_pipeline.core.workspace import Workspace


def raw_shards(workspace: Workspace) -> int:
    """Raw shards there are to score."""
    return len(list(workspace.raw_dir.glob("[0-9]*.parquet")))


def _refine_scores(workspace: Workspace, status: StageStatus) -> None:
    shards = raw_shards(workspace)
    if status.state == PARTIAL and shards:
        status.progress = f"{status.units_done}/{shards} raw shards scored"


OUTPUTS = (
    Output(
        name="scores",
        path="scores",
        units="*.parquet",
        unit_of=lambda name: name.removesuffix(".parquet"),
        rows="parquet",
        planned=raw_shards,
        refine=_refine_scores,
        views=(View("scores", "scores/[0-9]*.parquet", per_shard=True),),
    ),
    Output(
        name="decisions",
        path="decisions.parquet",
        rows="parquet",
        views=(View("decisions", "decisions.parquet"),),
    ),
)


def timing(workspace: Workspace) -> Timing | None:
    """Samples scored and the score phase's recorded time."""
    markers = Markers(workspace.scores_dir)
    infos = [markers.info(unit) or {} for unit in markers.done_units()]
    if not infos:
        return None
    rows = sum(int(i.get("rows", 0)) for i in infos)
    seconds = (markers.info(STAGE_UNIT) or {}).get("seconds")
    seconds = float(seconds) if isinstance(seconds, int | float) else None
    return Timing("filter (score)", len(infos), rows, "samples", seconds, "stage marker")

"""Where filter writes in the workspace (scores/ per raw shard, decisions.parquet) and how
status and the report read it back."""

from __future__ import annotations

from wit_pipeline.core.stage import Output, Timing, View, marker_timing
from wit_pipeline.core.workspace import Workspace


def raw_shards(workspace: Workspace) -> int:
    """Raw shards there are to score."""
    return len(list(workspace.raw_dir.glob("[0-9]*.parquet")))


SCORES = (
    View("scores", "scores/[0-9]*.parquet", per_shard=True),
    View("entries", "scores/entries/[0-9]*.parquet", per_shard=True),
    View("head_scores", "scores/heads/[0-9]*.parquet", per_shard=True),
)
DECISIONS = (View("decisions", "decisions.parquet"),)
PROGRESS = "{done}/{planned} raw shards scored"
OUTPUTS = (
    Output("scores", "scores", "*.parquet", "parquet", SCORES, raw_shards, PROGRESS),
    Output("decisions", "decisions.parquet", None, "parquet", DECISIONS),
)


def timing(workspace: Workspace) -> Timing | None:
    """Samples scored and the stage's recorded time."""
    return marker_timing("filter (score)", workspace.scores_dir, "rows", "samples")

"""Where scrape writes in the workspace and how status and the report read it back."""

from __future__ import annotations

from wit_pipeline.core.markers import STAGE_UNIT, Markers
from wit_pipeline.core.stage import Output, Timing, View
from wit_pipeline.core.status import COMPLETE, PARTIAL, StageStatus, seconds_since_last_write
from wit_pipeline.core.workspace import Workspace

UNITS_DIR = ".units"
"""pairs/.units/: one parquet per source unit, merged into the parts at the end."""


def _source_units(workspace: Workspace) -> int:
    return len(Markers(workspace.pairs_dir / UNITS_DIR).done_units())


def _refine(workspace: Workspace, status: StageStatus) -> None:
    """Source units scraped but not merged yet are progress of an unfinished run."""
    if status.state == COMPLETE:
        return
    sources = _source_units(workspace)
    if sources:
        status.state = PARTIAL
        status.progress = f"{sources} source units scraped, not merged into parts yet"
        status.last_write_seconds = seconds_since_last_write(workspace.pairs_dir)


VIEWS = (View("pairs", "pairs/part-*.parquet"),)
OUTPUTS = (Output("pairs", "pairs", "*.parquet", "parquet", VIEWS, refine=_refine),)


def timing(workspace: Workspace) -> Timing | None:
    """Pages scraped and the stage's recorded time."""
    info = Markers(workspace.pairs_dir).info(STAGE_UNIT)
    if info is None:
        return None
    pages = int(info.get("counts", {}).get("pages", 0))
    seconds = info.get("seconds")
    seconds = float(seconds) if isinstance(seconds, int | float) else None
    return Timing("scrape", _source_units(workspace), pages, "pages", seconds, "stage marker")

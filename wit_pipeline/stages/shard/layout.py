"""Where shard writes in the workspace (shards/ and the files beside them) and how status and
the report read it back."""

from __future__ import annotations

import json

import pyarrow.compute as pc
import pyarrow.parquet as pq

from wit_pipeline.core.markers import Markers
from wit_pipeline.core.stage import Output, Timing, View, marker_timing
from wit_pipeline.core.status import PARTIAL, StageStatus
from wit_pipeline.core.workspace import Workspace

SIZES_FILE = "sizes.json"
MANIFEST_FILE = "manifest.parquet"
STATS_FILE = "stats.json"
WIDS_INDEX_FILE = "index.wids.json"
REJECTED_FILE = "rejected.parquet"
OUTPUT_FILES = (SIZES_FILE, MANIFEST_FILE, STATS_FILE, WIDS_INDEX_FILE, REJECTED_FILE)
"""What the stage writes beside the tars, once every shard is written."""


def _kept_samples(workspace: Workspace) -> int | None:
    try:
        table = pq.read_table(workspace.decisions_path, columns=["keep"])
        return int(pc.sum(table["keep"]).as_py() or 0)
    except Exception:
        return None


def _refine(workspace: Workspace, status: StageStatus) -> None:
    """Rows from sizes.json; an unfinished run's progress in kept samples written."""
    sizes = workspace.shards_dir / SIZES_FILE
    if sizes.is_file():
        try:
            status.rows = sum(json.loads(sizes.read_text()).values())
        except (ValueError, AttributeError, TypeError):
            status.detail = "; ".join(filter(None, [status.detail, "sizes.json unreadable"]))
            status.state = PARTIAL
    if status.state == PARTIAL:
        markers = Markers(workspace.shards_dir)
        written = sum((markers.info(u) or {}).get("samples", 0) for u in markers.done_units())
        kept = _kept_samples(workspace)
        total = f"/{kept:,}" if kept is not None else ""
        status.progress = f"{written:,}{total} kept samples written"


VIEWS = (View("manifest", f"shards/{MANIFEST_FILE}"),)
OUTPUTS = (Output("shards", "shards", "[0-9]*.*", None, VIEWS, refine=_refine),)


def timing(workspace: Workspace) -> Timing | None:
    """Samples written and the stage's recorded time."""
    return marker_timing("shard", workspace.shards_dir, "samples", "samples")

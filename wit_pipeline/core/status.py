"""What each stage of a workspace holds: absent, partial or complete, with counts.

Reads only file names, completion markers and parquet footers, so it is instant even on a
large workspace and never disturbs a running stage.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow.parquet as pq

from wit_pipeline.core.atomic import is_temp, stale_temps
from wit_pipeline.core.markers import Markers
from wit_pipeline.core.workspace import Workspace

ABSENT, PARTIAL, COMPLETE = "absent", "partial", "complete"


@dataclass
class StageStatus:
    """The state of one stage's output."""

    stage: str
    path: str
    state: str
    units: int = 0
    units_done: int = 0
    rows: int | None = None
    detail: str = ""


def _parquet_rows(paths: list[Path]) -> tuple[int, list[str]]:
    """Total rows from parquet footers, and the names of files whose footer is unreadable."""
    rows, broken = 0, []
    for path in paths:
        try:
            rows += pq.ParquetFile(path).metadata.num_rows
        except Exception:
            broken.append(path.name)
    return rows, broken


def _unit_status(
    stage: str, folder: Path, units: dict[str, list[Path]], rows: int | None, problems: list[str]
) -> StageStatus:
    """Status of a folder stage whose work is split into units with completion markers."""
    status = StageStatus(stage=stage, path=str(folder), state=ABSENT, rows=rows)
    markers = Markers(folder)
    temps = stale_temps(folder)
    if not units and not temps and not markers.done_units():
        return status
    done = set(markers.done_units())
    status.units = len(units)
    status.units_done = sum(1 for unit in units if unit in done)
    notes = list(problems)
    if temps:
        notes.append(f"{len(temps)} temporary files left by an interrupted run")
    if status.units_done < status.units:
        notes.append(f"{status.units - status.units_done} units without a completion marker")
    complete = markers.stage_done() and not notes
    status.state = COMPLETE if complete else PARTIAL
    if not markers.stage_done() and not notes:
        notes.append("stage not marked finished")
    status.detail = "; ".join(notes)
    return status


def _group_units(
    folder: Path, pattern: str, unit_of: Callable[[Path], str]
) -> dict[str, list[Path]]:
    units: dict[str, list[Path]] = {}
    if folder.is_dir():
        for path in sorted(folder.glob(pattern)):
            if path.is_file() and not is_temp(path):
                units.setdefault(unit_of(path), []).append(path)
    return units


def _parquet_stage(stage: str, folder: Path) -> StageStatus:
    units = _group_units(folder, "*.parquet", lambda p: p.stem)
    rows, broken = _parquet_rows([p for paths in units.values() for p in paths])
    problems = [f"unreadable: {', '.join(broken)}"] if broken else []
    return _unit_status(stage, folder, units, rows if units else None, problems)


def _raw_stage(folder: Path) -> StageStatus:
    units = _group_units(folder, "[0-9]*.*", lambda p: p.name.split(".")[0].split("_")[0])
    parquets = [p for paths in units.values() for p in paths if p.suffix == ".parquet"]
    rows, broken = _parquet_rows(parquets)
    problems = [f"unreadable: {', '.join(broken)}"] if broken else []
    return _unit_status("raw", folder, units, rows if units else None, problems)


def _shards_stage(folder: Path) -> StageStatus:
    units = _group_units(folder, "*.tar", lambda p: p.stem)
    sizes = folder / "sizes.json"
    rows, problems = None, []
    if sizes.is_file():
        try:
            rows = sum(json.loads(sizes.read_text()).values())
        except (ValueError, AttributeError, TypeError):
            problems.append("sizes.json unreadable")
    return _unit_status("shards", folder, units, rows, problems)


def _file_stage(stage: str, path: Path, count_rows: bool) -> StageStatus:
    if not path.is_file():
        return StageStatus(stage=stage, path=str(path), state=ABSENT)
    status = StageStatus(stage=stage, path=str(path), state=COMPLETE, units=1, units_done=1)
    if count_rows:
        rows, broken = _parquet_rows([path])
        status.rows = rows
        if broken:
            status.state, status.detail = PARTIAL, "unreadable parquet footer"
    return status


def workspace_status(workspace: Workspace) -> list[StageStatus]:
    """The status of every stage, in pipeline order."""
    return [
        _parquet_stage("pairs", workspace.pairs_dir),
        _raw_stage(workspace.raw_dir),
        _parquet_stage("scores", workspace.scores_dir),
        _file_stage("decisions", workspace.decisions_path, count_rows=True),
        _shards_stage(workspace.shards_dir),
        _file_stage("report", workspace.report_dir / "index.html", count_rows=False),
        _file_stage("catalog", workspace.catalog_path, count_rows=False),
    ]


def status_as_dicts(statuses: list[StageStatus]) -> list[dict]:
    """JSON-able form of `workspace_status` (for `status --json`)."""
    return [asdict(s) for s in statuses]


def format_status(workspace: Workspace, statuses: list[StageStatus]) -> str:
    """A small table for people: one line per stage."""
    if not workspace.exists():
        return (
            f"workspace {workspace.root}: does not exist "
            "(a stage creates it; pass --workdir or set WIT_WORKDIR to use another)"
        )
    lines = [
        f"workspace {workspace.root}",
        f"{'stage':<10} {'state':<9} {'units':>11} {'rows':>12}  detail",
    ]
    for s in statuses:
        units = f"{s.units_done}/{s.units}" if s.units else "-"
        rows = f"{s.rows:,}" if s.rows is not None else "-"
        lines.append(f"{s.stage:<10} {s.state:<9} {units:>11} {rows:>12}  {s.detail}".rstrip())
    present = sum(1 for s in statuses if s.state != ABSENT)
    if present == 0:
        lines.append("empty: no stage has written anything yet")
    return "\n".join(lines)

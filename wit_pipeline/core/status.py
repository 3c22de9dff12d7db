"""What each stage of a workspace holds: absent, partial or complete, with counts, the progress
of a running or interrupted stage, and the command to run next.

Reads only file names, completion markers, plan files and parquet footers (plus the `keep`
column of decisions.parquet for shard progress), so it is quick even on a large workspace and
never disturbs a running stage.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from wit_pipeline.core.atomic import is_temp, stale_temps
from wit_pipeline.core.markers import MARKER_DIR, Markers
from wit_pipeline.core.workspace import Workspace

ABSENT, PARTIAL, COMPLETE = "absent", "partial", "complete"
SCRAPE_UNITS_DIR = "pairs/.units"
DOWNLOAD_PLAN = "raw/.input/plan.json"
COMMANDS = {
    "pairs": "scrape SOURCE...",
    "raw": "download",
    "scores": "filter",
    "decisions": "filter",
    "shards": "shard",
    "report": "report",
}
"""The command that writes each stage's output (the catalog is written by `sql` and `report`)."""
DATA_STAGES = ("pairs", "raw", "scores", "decisions", "shards")


@dataclass
class StageStatus:
    """The state of one stage's output; `units` is the planned total where the stage records
    its plan, and `progress` says how far a running or interrupted run got."""

    stage: str
    path: str
    state: str
    units: int = 0
    units_done: int = 0
    rows: int | None = None
    detail: str = ""
    progress: str = ""
    last_write_seconds: float | None = None


def _parquet_rows(paths: list[Path]) -> tuple[int, list[str]]:
    """Total rows from parquet footers, and the names of files whose footer is unreadable."""
    rows, broken = 0, []
    for path in paths:
        try:
            rows += pq.ParquetFile(path).metadata.num_rows
        except Exception:
            broken.append(path.name)
    return rows, broken


def _seconds_since_last_write(folder: Path) -> float | None:
    """Age of the newest marker or temporary file under `folder` (None when there is none)."""
    paths = [*stale_temps(folder)]
    for markers in [folder / MARKER_DIR, *folder.glob(f"*/{MARKER_DIR}")]:
        if markers.is_dir():
            paths.extend(markers.iterdir())
    times = []
    for path in paths:
        try:
            times.append(path.stat().st_mtime)
        except FileNotFoundError:
            continue
    return max(0.0, time.time() - max(times)) if times else None


def _unit_status(
    stage: str,
    folder: Path,
    units: dict[str, list[Path]],
    rows: int | None,
    problems: list[str],
    planned: int = 0,
) -> StageStatus:
    """Status of a folder stage whose work is split into units with completion markers;
    `planned` is the total number of units when the stage recorded its plan."""
    status = StageStatus(stage=stage, path=str(folder), state=ABSENT, rows=rows)
    markers = Markers(folder)
    temps = stale_temps(folder)
    if not units and not temps and not markers.done_units():
        return status
    done = set(markers.done_units())
    status.units = max(len(units), planned)
    status.units_done = sum(1 for unit in units if unit in done)
    notes = list(problems)
    if temps:
        notes.append(f"{len(temps)} temporary files left by an interrupted run")
    if status.units_done < len(units):
        notes.append(f"{len(units) - status.units_done} units without a completion marker")
    if len(units) < planned:
        notes.append(f"{planned - len(units)} planned units not written yet")
    complete = markers.stage_done() and not notes
    status.state = COMPLETE if complete else PARTIAL
    if not markers.stage_done() and not notes:
        notes.append("stage not marked finished")
    status.detail = "; ".join(notes)
    if not complete:
        status.last_write_seconds = _seconds_since_last_write(folder)
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


def _parquet_stage(stage: str, folder: Path, planned: int = 0) -> StageStatus:
    units = _group_units(folder, "*.parquet", lambda p: p.stem)
    rows, broken = _parquet_rows([p for paths in units.values() for p in paths])
    problems = [f"unreadable: {', '.join(broken)}"] if broken else []
    return _unit_status(stage, folder, units, rows if units else None, problems, planned)


def _pairs_stage(workspace: Workspace) -> StageStatus:
    """pairs/: the final parts, plus the source units of a scrape that has not merged yet."""
    status = _parquet_stage("pairs", workspace.pairs_dir)
    if status.state == COMPLETE:
        return status
    sources = len(Markers(workspace.root / SCRAPE_UNITS_DIR).done_units())
    if sources:
        status.state = PARTIAL
        status.progress = f"{sources} source units scraped, not merged into parts yet"
        status.last_write_seconds = _seconds_since_last_write(workspace.pairs_dir)
    return status


def _planned_downloads(workspace: Workspace) -> int:
    """Shards in the download plan (raw/.input/plan.json), written before any shard."""
    try:
        return len(json.loads((workspace.root / DOWNLOAD_PLAN).read_text())["shards"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _raw_stage(workspace: Workspace) -> StageStatus:
    folder = workspace.raw_dir
    units = _group_units(folder, "[0-9]*.*", lambda p: p.name.split(".")[0].split("_")[0])
    parquets = [p for paths in units.values() for p in paths if p.suffix == ".parquet"]
    rows, broken = _parquet_rows(parquets)
    problems = [f"unreadable: {', '.join(broken)}"] if broken else []
    planned = _planned_downloads(workspace)
    status = _unit_status("raw", folder, units, rows if units else None, problems, planned)
    if status.state == PARTIAL and planned:
        status.progress = f"{status.units_done}/{planned} shards downloaded"
    return status


def _scores_stage(workspace: Workspace) -> StageStatus:
    raw_shards = len(list(workspace.raw_dir.glob("[0-9]*.parquet")))
    status = _parquet_stage("scores", workspace.scores_dir, planned=raw_shards)
    if status.state == PARTIAL and raw_shards:
        status.progress = f"{status.units_done}/{raw_shards} raw shards scored"
    return status


def _kept_samples(decisions: Path) -> int | None:
    try:
        return int(pc.sum(pq.read_table(decisions, columns=["keep"])["keep"]).as_py() or 0)
    except Exception:
        return None


def _shards_stage(workspace: Workspace) -> StageStatus:
    folder = workspace.shards_dir
    units = _group_units(folder, "*.tar", lambda p: p.stem)
    sizes = folder / "sizes.json"
    rows, problems = None, []
    if sizes.is_file():
        try:
            rows = sum(json.loads(sizes.read_text()).values())
        except (ValueError, AttributeError, TypeError):
            problems.append("sizes.json unreadable")
    status = _unit_status("shards", folder, units, rows, problems)
    if status.state == PARTIAL:
        markers = Markers(folder)
        written = sum((markers.info(u) or {}).get("samples", 0) for u in markers.done_units())
        kept = _kept_samples(workspace.decisions_path)
        total = f"/{kept:,}" if kept is not None else ""
        status.progress = f"{written:,}{total} kept samples written"
    return status


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
        _pairs_stage(workspace),
        _raw_stage(workspace),
        _scores_stage(workspace),
        _file_stage("decisions", workspace.decisions_path, count_rows=True),
        _shards_stage(workspace),
        _file_stage("report", workspace.report_dir / "index.html", count_rows=False),
        _file_stage("catalog", workspace.catalog_path, count_rows=False),
    ]


def next_command(statuses: list[StageStatus]) -> str:
    """What to run next: the first running or interrupted stage again (it resumes), else the
    stage after the last one that has output."""
    by_stage = {s.stage: s for s in statuses}
    data = [by_stage[name] for name in DATA_STAGES]
    partial = next((s for s in data if s.state == PARTIAL), None)
    if partial is not None:
        return f"wit-pipeline {COMMANDS[partial.stage]}   (resumes {partial.stage})"
    present = [i for i, s in enumerate(data) if s.state != ABSENT]
    if not present:
        return "wit-pipeline scrape SOURCE...   (or wit-pipeline download URLS.parquet)"
    if present[-1] + 1 < len(data):
        return f"wit-pipeline {COMMANDS[data[present[-1] + 1].stage]}"
    if by_stage["report"].state == ABSENT:
        return "wit-pipeline report"
    return 'nothing left to build; query the dataset with wit-pipeline sql "SELECT ..."'


def status_as_dicts(statuses: list[StageStatus]) -> list[dict]:
    """JSON-able form of `workspace_status` (for `status --json`)."""
    return [asdict(s) for s in statuses]


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def format_status(workspace: Workspace, statuses: list[StageStatus]) -> str:
    """A small table for people: one line per stage, progress lines, then what to run next."""
    if workspace.root.exists() and not workspace.root.is_dir():
        return f"workspace {workspace.root}: is a file, not a workspace folder (pass --workdir)"
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
    for s in statuses:
        if s.progress:
            age = (
                f", last write {_age(s.last_write_seconds)} ago"
                if s.last_write_seconds is not None
                else ""
            )
            lines.append(f"{s.stage}: running or interrupted: {s.progress}{age}")
    present = sum(1 for s in statuses if s.state != ABSENT)
    if present == 0:
        lines.append("empty: no stage has written anything yet")
    lines.append(f"next: {next_command(statuses)}")
    return "\n".join(lines)

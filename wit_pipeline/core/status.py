"""What each output of a workspace holds: absent, partial or complete, with counts, the progress
of a running or interrupted stage, and the command to run next.

Works from the stages' declared outputs (`core.stage.Output`), passed in by the caller, so it
knows no stage folder by name. Reads only file names, completion markers and parquet footers
(and whatever a stage's `refine` hook reads), so it is quick on a large workspace and never
disturbs a running stage.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from wit_pipeline.core.atomic import is_temp, stale_temps
from wit_pipeline.core.markers import MARKER_DIR, Markers
from wit_pipeline.core.workspace import Workspace

if TYPE_CHECKING:
    from wit_pipeline.core.stage import Output

ABSENT, PARTIAL, COMPLETE = "absent", "partial", "complete"
FIRST_STEP = "scrape SOURCE...   (or download URLS.parquet, or adopt FOLDER)"
DONE = 'nothing left to build; query the dataset with wit-pipeline sql "SELECT ..."'


@dataclass
class StageStatus:
    """The state of one output; `units` is the planned total where the stage records its plan,
    `progress` says how far a running or interrupted run got, `command` runs its stage."""

    stage: str
    path: str
    state: str
    units: int = 0
    units_done: int = 0
    rows: int | None = None
    detail: str = ""
    progress: str = ""
    last_write_seconds: float | None = None
    command: str = ""
    data: bool = True
    """Part of the dataset chain (scrape -> shard), which `next` follows."""


def parquet_rows(paths: Sequence[Path]) -> tuple[int, list[str]]:
    """Total rows from parquet footers, and the names of files whose footer is unreadable."""
    rows, broken = 0, []
    for path in paths:
        try:
            rows += pq.ParquetFile(path).metadata.num_rows
        except Exception:
            broken.append(path.name)
    return rows, broken


def seconds_since_last_write(folder: Path) -> float | None:
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


def _units(folder: Path, output: Output) -> dict[str, list[Path]]:
    """The output's unit files (temporary files excluded), grouped by unit name."""
    units: dict[str, list[Path]] = {}
    if folder.is_dir():
        for path in sorted(folder.glob(output.units or "")):
            if path.is_file() and not is_temp(path):
                units.setdefault(output.unit_of(path.name), []).append(path)
    return units


def _folder_status(workspace: Workspace, output: Output, status: StageStatus) -> None:
    """Fill `status` for a folder of units with completion markers."""
    folder = output.location(workspace)
    units = _units(folder, output)
    problems = []
    if output.rows == "parquet" and units:
        parquets = [p for paths in units.values() for p in paths if p.suffix == ".parquet"]
        status.rows, broken = parquet_rows(parquets)
        if broken:
            problems.append(f"unreadable: {', '.join(broken)}")
    planned = output.planned(workspace) if output.planned else 0
    markers = Markers(folder)
    temps = stale_temps(folder)
    if not units and not temps and not markers.done_units():
        return
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
        status.last_write_seconds = seconds_since_last_write(folder)


def _file_status(workspace: Workspace, output: Output, status: StageStatus) -> None:
    """Fill `status` for a single file."""
    path = output.location(workspace)
    if not path.is_file():
        return
    status.state, status.units, status.units_done = COMPLETE, 1, 1
    if output.rows == "parquet":
        status.rows, broken = parquet_rows([path])
        if broken:
            status.state, status.detail = PARTIAL, "unreadable parquet footer"


def output_status(workspace: Workspace, output: Output, command: str, data: bool) -> StageStatus:
    """The status of one declared output, refined by its stage's hook."""
    status = StageStatus(
        stage=output.name,
        path=workspace.location(output.location(workspace)),
        state=ABSENT,
        command=command,
        data=data,
    )
    if output.units is None:
        _file_status(workspace, output, status)
    else:
        _folder_status(workspace, output, status)
    if status.state == PARTIAL and output.progress and status.units:
        status.progress = output.progress.format(done=status.units_done, planned=status.units)
    if output.refine is not None:
        output.refine(workspace, status)
    return status


def next_command(statuses: list[StageStatus]) -> str:
    """What to run next: the first running or interrupted data stage again (it resumes), else
    the stage after the last data stage with output, else the first other one missing."""
    data = [s for s in statuses if s.data]
    partial = next((s for s in data if s.state == PARTIAL), None)
    if partial is not None:
        return f"wit-pipeline {partial.command}   (resumes {partial.stage})"
    present = [i for i, s in enumerate(data) if s.state != ABSENT]
    if not present:
        return f"wit-pipeline {FIRST_STEP}"
    if present[-1] + 1 < len(data):
        return f"wit-pipeline {data[present[-1] + 1].command}"
    missing = next((s for s in statuses if not s.data and s.command and s.state == ABSENT), None)
    return f"wit-pipeline {missing.command}" if missing is not None else DONE


def status_as_dicts(statuses: list[StageStatus]) -> list[dict]:
    """JSON-able form of the statuses (for `status --json`)."""
    return [asdict(s) for s in statuses]


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def format_status(workspace: Workspace, statuses: list[StageStatus]) -> str:
    """A small table for people: one line per output, progress lines, then what to run next."""
    if workspace.root.exists() and not workspace.root.is_dir():
        return f"workspace {workspace.root}: is a file, not a workspace folder (pass --workdir)"
    if not workspace.exists():
        return (
            f"workspace {workspace.root}: does not exist "
            "(a stage creates it; pass --workdir or set WIT_WORKDIR to use another)"
        )
    lines = [
        f"workspace {workspace.name}",
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
    if all(s.state == ABSENT for s in statuses):
        lines.append("empty: no stage has written anything yet")
    lines.append(f"next: {next_command(statuses)}")
    return "\n".join(lines)

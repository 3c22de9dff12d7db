"""Per-unit completion markers, so a killed stage resumes where it stopped.

A unit is one piece of a stage's work (usually one shard). When a unit's outputs are all in
place, the stage writes `DIR/.done/UNIT.json` (atomically, with whatever facts it wants to
keep); on a rerun, units with a marker are skipped. `STAGE_UNIT` marks the whole stage done.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from wit_pipeline.core.atomic import write_json_atomic

MARKER_DIR = ".done"
STAGE_UNIT = "_SUCCESS"
_UNIT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class Markers:
    """Completion markers of one stage folder."""

    def __init__(self, stage_dir: Path | str) -> None:
        self.directory = Path(stage_dir) / MARKER_DIR

    def _path(self, unit: str) -> Path:
        if not _UNIT_NAME.match(unit):
            raise ValueError(f"bad unit name {unit!r}: use letters, digits, '_', '-', '.'")
        return self.directory / f"{unit}.json"

    def is_done(self, unit: str) -> bool:
        """Whether `unit` finished."""
        return self._path(unit).is_file()

    def mark_done(self, unit: str, info: dict[str, Any] | None = None) -> None:
        """Record that `unit` finished, with optional JSON-able facts (counts, timings)."""
        write_json_atomic(self._path(unit), {"unit": unit, **(info or {})})

    def info(self, unit: str) -> dict[str, Any] | None:
        """The facts stored with `unit`'s marker, or None if it has none."""
        path = self._path(unit)
        return json.loads(path.read_text()) if path.is_file() else None

    def forget(self, unit: str) -> None:
        """Drop one unit's marker, so the next run does that unit again."""
        self._path(unit).unlink(missing_ok=True)

    def done_units(self) -> list[str]:
        """Names of the finished units, sorted, without the stage marker."""
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.json") if p.stem != STAGE_UNIT)

    def stage_done(self) -> bool:
        """Whether the whole stage finished."""
        return self.is_done(STAGE_UNIT)

    def mark_stage_done(self, info: dict[str, Any] | None = None) -> None:
        """Record that every unit of the stage finished."""
        self.mark_done(STAGE_UNIT, info)

    def clear(self) -> None:
        """Forget every marker (a forced rerun of the stage)."""
        if self.directory.is_dir():
            for path in self.directory.glob("*.json"):
                path.unlink()

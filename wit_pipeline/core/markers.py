"""Per-unit completion markers, so a killed stage resumes where it stopped.

A unit is one piece of a stage's work (usually one shard). When a unit's outputs are all in
place, `DIR/.done/UNIT.json` is written (atomically, with whatever facts the unit returned); on
a rerun, units with a marker are skipped. `STAGE_UNIT` marks the whole stage done. The folder
may be an fsspec URL (s3://, memory://): a marker is then one object, written whole after the
unit's outputs were uploaded. A folder in the local mirror of a workspace on object storage
(core.mirror) has its unit markers written and forgotten on the store too, at once; its stage
marker goes up with the stage's other files when the mirror is pushed.

Only the executor (core.executor) writes markers; everyone else reads them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from wit_pipeline.core import storage
from wit_pipeline.core.atomic import write_json_atomic
from wit_pipeline.core.mirror import mirror_of

MARKER_DIR = ".done"
STAGE_UNIT = "_SUCCESS"
_UNIT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class Markers:
    """Completion markers of one stage folder (a local path or an fsspec URL)."""

    def __init__(self, stage_dir: Path | str) -> None:
        self.local = storage.is_local(stage_dir)
        self.mirror = mirror_of(stage_dir)
        self.directory: Path | str = (
            storage.local_path(stage_dir) / MARKER_DIR
            if self.local
            else storage.join(stage_dir, MARKER_DIR)
        )

    def _path(self, unit: str) -> Path | str:
        if not _UNIT_NAME.match(unit):
            raise ValueError(f"bad unit name {unit!r}: use letters, digits, '_', '-', '.'")
        if self.local:
            return self.directory / f"{unit}.json"
        return storage.join(self.directory, f"{unit}.json")

    def is_done(self, unit: str) -> bool:
        """Whether `unit` finished."""
        path = self._path(unit)
        return path.is_file() if self.local else storage.exists(path)

    def mark_done(
        self, unit: str, info: dict[str, Any] | None = None, *, publish: bool = True
    ) -> None:
        """Record that `unit` finished, with optional JSON-able facts (counts, timings).
        `publish` False: in a mirror, the marker goes up with the stage's files, not at once
        (a unit the driver wrote itself, not yet uploaded)."""
        record = {"unit": unit, **(info or {})}
        if self.local:
            write_json_atomic(self._path(unit), record)
            if self.mirror is not None and publish and unit != STAGE_UNIT:
                self.mirror.publish(self._path(unit))
        else:
            storage.write_json(self._path(unit), record)

    def info(self, unit: str) -> dict[str, Any] | None:
        """The facts stored with `unit`'s marker, or None if it has none."""
        path = self._path(unit)
        if self.local:
            return json.loads(path.read_text()) if path.is_file() else None
        return json.loads(storage.read_bytes(path)) if storage.exists(path) else None

    def forget(self, unit: str) -> None:
        """Drop one unit's marker, so the next run does that unit again."""
        path = self._path(unit)
        if self.local:
            path.unlink(missing_ok=True)
            if self.mirror is not None:
                self.mirror.unpublish(path)
        else:
            storage.remove(path)

    def done_units(self) -> list[str]:
        """Names of the finished units, sorted, without the stage marker."""
        if self.local:
            if not self.directory.is_dir():
                return []
            names = [p.stem for p in self.directory.glob("*.json")]
        else:
            names = [
                url.rsplit("/", 1)[-1].removesuffix(".json")
                for url in storage.glob(self.directory, "*.json")
            ]
        return sorted(name for name in names if name != STAGE_UNIT)

    def stage_done(self) -> bool:
        """Whether the whole stage finished."""
        return self.is_done(STAGE_UNIT)

    def mark_stage_done(self, info: dict[str, Any] | None = None) -> None:
        """Record that every unit of the stage finished."""
        self.mark_done(STAGE_UNIT, info)

    def clear(self) -> None:
        """Forget every marker (a forced rerun of the stage)."""
        for unit in [*self.done_units(), STAGE_UNIT]:
            self.forget(unit)


def unit_of(url: str | Path) -> str:
    """The unit an output file belongs to: its name up to the first dot (`.../00001.tar`)."""
    return str(url).rsplit("/", 1)[-1].split(".")[0]


def size_problem(url: str | Path, facts: dict[str, Any]) -> str | None:
    """What is wrong with the file at `url` by the size its marker's `facts` name, or None."""
    size = storage.size(url)
    if size is None:
        return "missing"
    if size != facts.get("filesize"):
        return f"{size} bytes, its marker says {facts.get('filesize')}"
    return None

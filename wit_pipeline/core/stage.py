"""The stage contract: what every `stages/<name>/` declares, so the runner, the config, status,
the catalog and the report work from declarations instead of strings of their own.

A `Stage` names its options class, the function that runs it (imported on first use, so the
command line starts without importing every stage's dependencies), and its layout: the
outputs it writes in the workspace (folders of units with completion markers, or single
files), the catalog views over them, how status counts their progress and how the report
reads its time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from wit_pipeline.core.executor import Engine
from wit_pipeline.core.markers import STAGE_UNIT, Markers
from wit_pipeline.core.options import StageOptions
from wit_pipeline.core.workspace import Workspace

if TYPE_CHECKING:
    from wit_pipeline.core.status import StageStatus


class Summary(Protocol):
    """What a stage run returns: a dataclass of facts with one line for people."""

    def line(self) -> str:
        """One summary line."""
        ...


@dataclass(frozen=True)
class View:
    """A catalog view over files a stage writes: a glob relative to the workspace root;
    `per_shard` views get a `shard` column (the file's stem) to join on."""

    name: str
    pattern: str
    per_shard: bool = False


@dataclass(frozen=True)
class Output:
    """One thing a stage writes in the workspace: a folder whose units (files matching `units`,
    grouped by `unit_of` of their names: the name up to its first dot) finish with completion
    markers, or a single file (`units` None). `rows`: how status counts rows ("parquet": the
    parquet footers); `planned` units, when the stage records a plan, make an unfinished run's
    `progress` ("{done}/{planned} ..."); `refine` adjusts the status with what only the stage
    knows."""

    name: str
    path: str
    units: str | None = None
    rows: str | None = None
    views: tuple[View, ...] = ()
    planned: Callable[[Workspace], int] | None = None
    progress: str = ""
    refine: Callable[[Workspace, StageStatus], None] | None = None
    unit_of: Callable[[str], str] = field(default=lambda name: name.split(".")[0])

    def location(self, workspace: Workspace) -> Path:
        """Where this output lies in `workspace`."""
        return workspace.root / self.path


@dataclass(frozen=True)
class Timing:
    """A stage's work and wall time as it recorded them (`seconds` None when it did not)."""

    stage: str
    units: int
    items: int
    item_name: str
    seconds: float | None
    source: str

    @property
    def throughput(self) -> float | None:
        """Items per second."""
        return self.items / self.seconds if self.seconds else None


@dataclass(frozen=True)
class Stage:
    """One pipeline stage: name, help, options, entry point (`module:function`, called as
    `function(workspace, options, engine) -> Summary`) and layout."""

    name: str
    help: str
    options: type[StageOptions]
    entry: str
    outputs: tuple[Output, ...] = ()
    timing: Callable[[Workspace], Timing | None] | None = None
    command: str = ""
    optional: bool = False
    """Runs in a config only when its section is present (the others unless set to false)."""
    on_object_storage: bool = False
    """Runs on a workspace on object storage (core.mirror); the others refuse it in one line."""

    def run(self, workspace: Workspace, options: StageOptions, engine: Engine) -> Summary:
        """Run the stage on `workspace` (importing its code on first use)."""
        module, _, function = self.entry.partition(":")
        return getattr(importlib.import_module(module), function)(workspace, options, engine)

    @property
    def suggestion(self) -> str:
        """The command line that runs this stage, as status suggests it."""
        return self.command or self.name


def marker_timing(label: str, folder: Path, count: str, item_name: str) -> Timing | None:
    """A stage's timing from its markers: units done, the sum of their `count` facts, and the
    `seconds` its stage marker recorded."""
    markers = Markers(folder)
    infos = [markers.info(unit) or {} for unit in markers.done_units()]
    if not infos:
        return None
    items = sum(int(info.get(count, 0)) for info in infos)
    seconds = (markers.info(STAGE_UNIT) or {}).get("seconds")
    seconds = float(seconds) if isinstance(seconds, int | float) else None
    return Timing(label, len(infos), items, item_name, seconds, "stage marker")


def lazy_exports(package: str, **modules: tuple[str, ...]) -> Callable[[str], Any]:
    """A module `__getattr__` importing each public name from `package.MODULE` (keyword:
    module, value: its names) on first use, so a stage package can declare its Stage without
    importing its heavy parts."""
    home = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in home:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{home[name]}"), name)

    return __getattr__

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
    grouped by `unit_of` of their names) finish with completion markers, or a single file
    (`units` None). `rows`: how status counts rows ("parquet": the units' parquet footers).
    `refine` adjusts the generic status with what only the stage knows (its plan, progress)."""

    name: str
    path: str
    units: str | None = None
    unit_of: Callable[[str], str] = field(default=lambda name: name.split(".")[0])
    rows: str | None = None
    planned: Callable[[Workspace], int] | None = None
    refine: Callable[[Workspace, StageStatus], None] | None = None
    views: tuple[View, ...] = ()

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
    """One pipeline stage: name, options, entry point (`module:function`, called as
    `function(workspace, options, engine) -> Summary`) and layout."""

    name: str
    help: str
    options: type[StageOptions]
    entry: str
    command: str = ""
    outputs: tuple[Output, ...] = ()
    optional: bool = False
    """Runs in a config only when its section is present (the others unless set to false)."""
    timing: Callable[[Workspace], Timing | None] | None = None

    def run(self, workspace: Workspace, options: StageOptions, engine: Engine) -> Summary:
        """Run the stage on `workspace` (importing its code on first use)."""
        module, _, function = self.entry.partition(":")
        return getattr(importlib.import_module(module), function)(workspace, options, engine)

    @property
    def suggestion(self) -> str:
        """The command line that runs this stage, as status suggests it."""
        return self.command or self.name


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` importing `name` from `package.exports[name]` on first use, so a
    stage package can declare its Stage without importing its heavy parts."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)

    return __getattr__

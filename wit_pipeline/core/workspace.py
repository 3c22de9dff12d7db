"""The workspace: one folder holding one dataset build, laid out as in DESIGN.md.

pairs/part-00000.parquet                      scrape
raw/00000.tar 00000.parquet 00000_stats.json  download (img2dataset's layout)
scores/00000.parquet                          filter, score phase
decisions.parquet                             filter, decide phase
shards/00000.tar ... sizes.json manifest.parquet stats.json
report/index.html
catalog.duckdb
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_WORKDIR = "wit-data"
WORKDIR_ENV = "WIT_WORKDIR"


def default_workdir() -> Path:
    """`$WIT_WORKDIR` if set, else `./wit-data`."""
    return Path(os.environ.get(WORKDIR_ENV) or DEFAULT_WORKDIR)


@dataclass(frozen=True)
class Workspace:
    """Paths of every stage's output under one root folder."""

    root: Path

    @classmethod
    def at(cls, root: Path | str | None = None) -> Workspace:
        """The workspace at `root`, or at the default work dir when None."""
        return cls(Path(root) if root is not None else default_workdir())

    @property
    def pairs_dir(self) -> Path:
        return self.root / "pairs"

    @property
    def raw_dir(self) -> Path:
        return self.root / "raw"

    @property
    def scores_dir(self) -> Path:
        return self.root / "scores"

    @property
    def decisions_path(self) -> Path:
        return self.root / "decisions.parquet"

    @property
    def shards_dir(self) -> Path:
        return self.root / "shards"

    @property
    def report_dir(self) -> Path:
        return self.root / "report"

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.duckdb"

    def exists(self) -> bool:
        """Whether the root folder exists."""
        return self.root.is_dir()

    def create(self) -> Workspace:
        """Create the root and the stage folders (idempotent)."""
        for folder in (
            self.pairs_dir,
            self.raw_dir,
            self.scores_dir,
            self.shards_dir,
            self.report_dir,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        return self

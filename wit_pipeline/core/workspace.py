"""The workspace: one folder holding one dataset build, laid out as in DESIGN.md.

pairs/part-00000.parquet                      scrape
raw/00000.tar 00000.parquet 00000_stats.json  download (img2dataset's layout)
scores/00000.parquet                          filter, score phase
decisions.parquet                             filter, decide phase
shards/00000.tar ... sizes.json manifest.parquet stats.json
report/index.html
catalog.duckdb
wit-workspace.json                            the layout version, written on the first write

A workspace written by a version with another layout is refused with one line (exit 2) by
every command, rather than misread. A workdir given as a URL (s3://, gs://, az://, memory://)
is a workspace on object storage: commands work on a local mirror of its small files, the tars
stay on the store, and markers are the commit protocol (core.mirror); a command that cannot
work there says so in one line (exit 2).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from wit_pipeline import __version__
from wit_pipeline.core import storage
from wit_pipeline.core.atomic import write_json_atomic
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.lock import acquire_for
from wit_pipeline.core.mirror import Mirror, mirror_of, store_error

DEFAULT_WORKDIR = "wit-data"
WORKDIR_ENV = "WIT_WORKDIR"
LAYOUT_FILE = "wit-workspace.json"
LAYOUT_VERSION = 1


def default_workdir() -> str:
    """`$WIT_WORKDIR` if set, else `./wit-data`."""
    return os.environ.get(WORKDIR_ENV) or DEFAULT_WORKDIR


def workdir_path(value: str | Path, where: str = "--workdir") -> Path:
    """The local folder a workdir names (a plain path or a file:// URL); InputError (one line)
    for any other URL, where a command that needs a local workspace cannot work."""
    if storage.is_local(value):
        return storage.local_path(value)
    raise InputError(
        f"{where} {value}: this command needs a local or shared workspace folder, not one on "
        f"object storage ({storage.protocol(value)}://)"
    )


@dataclass(frozen=True)
class Workspace:
    """Paths of every stage's output under one root folder."""

    root: Path
    remote: str | None = None
    """The workspace's URL when it is on object storage (`root` is then its local mirror)."""

    @classmethod
    def at(cls, root: Path | str | None = None, *, remote_ok: bool = True) -> Workspace:
        """The workspace at `root` (a folder or a URL), or at the default work dir when None;
        InputError when it was written with another layout (see `check_layout`), or when it is
        on object storage and the command needs it local (`remote_ok` False)."""
        where = "--workdir" if root is not None else f"${WORKDIR_ENV}"
        value = str(root) if root is not None else default_workdir()
        if storage.is_local(value) or not remote_ok:
            workspace = cls(workdir_path(value, where))
        else:
            workspace = cls(Mirror.open(value).root, value.rstrip("/"))
        workspace.check_layout()
        return workspace

    @property
    def name(self) -> str:
        """Where the workspace is, for people: its folder, or its URL on object storage."""
        return self.remote or str(self.root)

    @property
    def mirror(self) -> Mirror | None:
        """The local mirror of a workspace on object storage (None for a local one)."""
        return mirror_of(self.root) if self.remote else None

    def location(self, path: Path) -> str:
        """Where the file or folder `path` of the workspace really is: `path` itself, or its
        URL on object storage (for what stays there: tars, output shards)."""
        mirror = self.mirror
        return mirror.url(path) if mirror is not None else str(path)

    def push(self) -> None:
        """Upload what this command wrote (a workspace on object storage; nothing otherwise)."""
        mirror = self.mirror
        if mirror is not None:
            mirror.push()

    @property
    def layout_path(self) -> Path:
        return self.root / LAYOUT_FILE

    def check_layout(self) -> None:
        """InputError (one line: where, which layout, which version) unless the layout marker
        is absent or names this version's layout."""
        path = self.layout_path
        if not path.is_file():
            return
        try:
            marker = json.loads(path.read_text(encoding="utf-8"))
            layout = marker["layout"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(
                f"{path}: unreadable workspace layout marker ({type(exc).__name__}); "
                "is this a wit-pipeline workspace?"
            ) from exc
        if layout != LAYOUT_VERSION:
            writer = marker.get("written_by", "another version")
            raise InputError(
                f"{self.name}: workspace layout {layout!r} (written by wit-pipeline {writer}); "
                f"this wit-pipeline {__version__} reads layout {LAYOUT_VERSION}: "
                "use that version or another --workdir"
            )

    def prepare(self) -> Workspace:
        """Before a stage's first write: check the layout, make the root, take the running
        stage's lock (core.lock; on object storage, then copy the workspace again), write the
        layout marker if absent; InputError (exit 2) when
        the folder cannot be written or another run of the stage holds it."""
        self.check_layout()
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"{self.root}: is a file, not a workspace folder")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._lock_and_refresh()
            if not self.layout_path.is_file():
                write_json_atomic(
                    self.layout_path, {"layout": LAYOUT_VERSION, "written_by": __version__}
                )
        except OSError as exc:
            raise InputError(
                f"{self.root}: workspace folder is not writable ({exc.strerror or exc})"
            ) from exc
        return self

    def _lock_and_refresh(self) -> None:
        """Take the stage's lock; on object storage, then copy the workspace again (what a
        writer that finished before the lease was taken wrote). InputError (one line) when
        the store cannot be reached for either."""
        mirror = self.mirror
        if mirror is None:
            acquire_for(self.root)
            return
        try:
            if acquire_for(self.root):
                mirror.pull()
        except InputError:
            raise
        except Exception as exc:  # the store unreachable, credentials refused, ...
            what = "cannot take the stage's lease or read the workspace"
            raise store_error(self.name, what, exc) from exc

    def remove(self, folder: Path) -> None:
        """Delete a folder of the workspace with everything in it (on object storage: at once,
        tars included)."""
        mirror = self.mirror
        if mirror is not None:
            mirror.remove_everywhere(folder)
        else:
            shutil.rmtree(folder)

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
        """Whether the root folder exists (on object storage: whether a stage wrote there)."""
        if self.remote:
            return self.layout_path.is_file()
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

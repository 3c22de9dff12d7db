"""A unit of a stage on a workspace on object storage, run on local scratch of whichever node
runs it: its inputs fetched, its outputs uploaded whole, their names, sizes and SHA-256 returned
for its marker (core.mirror has the commit protocol).

A unit's payload says what it reads and writes with a `staged(staging)` method returning the
payload with its paths moved: `fetch` (a file copied to scratch) and `output` (a folder on
scratch whose new or changed files are uploaded; its fetched files left as they were are named
in the marker too, so a unit that rewrote nothing still names its objects).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wit_pipeline.core import storage
from wit_pipeline.core.atomic import is_temp
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.mirror import OBJECTS, modified_time

CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    """The SHA-256 of the file at `path`, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Staging:
    """Where one unit's files are on this node: `scratch` stands for the driver's mirror
    `local_root`, whose objects are at `remote`."""

    def __init__(self, local_root: Path, remote: str, scratch: Path) -> None:
        self.local_root, self.remote, self.scratch = local_root, remote.rstrip("/"), scratch
        self.fetched: dict[Path, tuple[int, int]] = {}
        self.outputs: list[Path] = []

    def _rel(self, path: str | Path) -> str:
        return Path(path).relative_to(self.local_root).as_posix()

    def fetch(self, path: str | Path) -> str:
        """The scratch copy of the mirror path `path`, fetched from the store (no file when
        there is no such object, as there would be none locally)."""
        rel = self._rel(path)
        target = self.scratch / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        fs, remote = storage.url_to_fs(f"{self.remote}/{rel}")
        try:
            info = fs.info(remote)
        except FileNotFoundError:
            return str(target)
        fs.get_file(remote, str(target))
        stamp = modified_time(info)
        if stamp is not None:
            os.utime(target, (stamp, stamp))
        stat = target.stat()
        self.fetched[target] = (stat.st_size, stat.st_mtime_ns)
        return str(target)

    def output(self, folder: str | Path) -> str:
        """The scratch folder standing for the mirror folder `folder`: what the unit writes
        there is uploaded when it ends."""
        target = self.scratch / self._rel(folder)
        target.mkdir(parents=True, exist_ok=True)
        self.outputs.append(target)
        return str(target)

    def upload(self) -> dict[str, dict[str, Any]]:
        """Upload the unit's new or changed output files; sizes and SHA-256 of every file in
        its output folders (uploaded, or fetched and left as they were) by workspace path."""
        objects: dict[str, dict[str, Any]] = {}
        for folder in self.outputs:
            for path in sorted(p for p in folder.rglob("*") if p.is_file() and not is_temp(p)):
                rel = path.relative_to(self.scratch).as_posix()
                if rel in objects:
                    continue
                stat = path.stat()
                if self.fetched.get(path) != (stat.st_size, stat.st_mtime_ns):
                    storage.upload(path, f"{self.remote}/{rel}")
                objects[rel] = {"size": stat.st_size, "sha256": sha256_of(path)}
        return objects


@dataclass(frozen=True)
class StagedWork:
    """A unit's work function run on scratch for a workspace on object storage: the payload's
    `staged` moves its paths, and the unit's facts gain the objects it uploaded."""

    work: Any
    local_root: str
    remote: str

    def __call__(self, payload: Any) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="wit-unit-") as scratch:
            staging = Staging(Path(self.local_root), self.remote, Path(scratch))
            info = self.work(payload.staged(staging))
            return {**info, OBJECTS: staging.upload()}


def staged_work(work: Any, payloads: list[Any], local_root: Path, remote: str) -> StagedWork:
    """`work` wrapped to run on scratch; InputError (one line) when the stage's payloads do not
    say what they read and write (a stage not made for object storage yet)."""
    for payload in payloads:
        if not hasattr(payload, "staged"):
            raise InputError(
                f"{remote}: {type(payload).__name__} units do not run on a workspace on object "
                "storage yet; use a local or shared --workdir for this stage"
            )
    return StagedWork(work, str(local_root), remote)

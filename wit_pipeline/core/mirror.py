"""A workspace on object storage (s3://, gs://, az://, memory://): commands work on a local
mirror of its small files; the big ones (tars) stay on the store and are read from there.

Object stores have no rename, so the commit protocol is by marker objects:

- Pull: opening a remote workspace copies every object but the tars (raw and output shards),
  the report and the local catalog into a fresh local folder. A unit's marker is copied only
  when every object it names is on the store with the size it names; otherwise the unit is
  not done there, and the next run of its stage does it again (and overwrites what it left).
- Units (core.staging): a unit runs on local scratch of whichever node runs it, uploads its
  outputs whole and returns their names, sizes and SHA-256; only then does the driver write
  the unit's marker (here and on the store), and copy the unit's small outputs into the mirror.
- Push: before a stage's units start and when it ends, what the driver wrote in the mirror is
  uploaded (stage markers last, so a stage is done on the store only once its files are) and
  what it deleted is deleted (a folder it removed, with the tars under it).

Local modification times of copied files are the objects' own, so fingerprints made of size
and time (a raw shard's, for its scores) agree between the driver and every node.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wit_pipeline.core import storage
from wit_pipeline.core.atomic import is_temp
from wit_pipeline.core.errors import InputError

log = logging.getLogger(__name__)

MARKER_FOLDER = ".done"
STAGE_MARKER = "_SUCCESS.json"
LOCAL_ONLY = ("catalog.duckdb", ".locks")
"""Never copied either way: the catalog holds views over local paths, locks are per store
(core.remote_lock)."""
OBJECTS = "objects"
"""The marker fact naming a unit's objects: {path in the workspace: {"size", "sha256"}}."""

_MIRRORS: dict[Path, Mirror] = {}


@atexit.register
def _close_all() -> None:
    """Remove every mirror's local folder when the process ends."""
    for mirror in list(_MIRRORS.values()):
        mirror.close()


def is_blob(rel: str) -> bool:
    """Whether the workspace file `rel` ('raw/00000.tar') stays on the store: tars, and the
    output shards of any format."""
    name = rel.rsplit("/", 1)[-1]
    if name.endswith(".tar"):
        return True
    return rel.startswith("shards/") and rel.count("/") == 1 and name.split(".")[0].isdigit()


def is_mirrored(rel: str) -> bool:
    """Whether the workspace file `rel` is copied between the store and the mirror."""
    parts = rel.split("/")
    return not (is_blob(rel) or parts[0] in LOCAL_ONLY or any(is_temp(Path(p)) for p in parts))


def is_marker(rel: str) -> bool:
    """Whether `rel` is a completion marker (core.markers)."""
    return f"/{MARKER_FOLDER}/" in f"/{rel}" and rel.endswith(".json")


def mirror_of(path: Path | str) -> Mirror | None:
    """The mirror holding the local `path`, or None when it is in no mirror."""
    if not storage.is_local(path):
        return None
    target = storage.local_path(path).resolve()
    for root, mirror in _MIRRORS.items():
        if target == root or root in target.parents:
            return mirror
    return None


def store_error(where: str, what: str, exc: Exception) -> InputError:
    """One line for a store that failed us: where, what could not be done, and the first line
    of the store's own error."""
    reason = (str(exc).splitlines() or [""])[0][:200]
    return InputError(f"{where}: {what} ({type(exc).__name__}: {reason})")


def with_urls(text: str) -> str:
    """`text` (an error message) with every path in a mirror shown as its URL on the store:
    people know the workspace by its URL, not by this command's temporary folder."""
    for root, mirror in _MIRRORS.items():
        text = text.replace(str(root), mirror.remote)
    return text


def stable_name(path: Path) -> str:
    """A name for the local file `path` that stays the same from one command to the next: its
    URL when it is in the mirror of a workspace on object storage (a fresh folder each time),
    else its resolved path."""
    mirror = mirror_of(path)
    return mirror.url(path) if mirror is not None else str(path.resolve())


def modified_time(info: dict[str, Any]) -> int | None:
    """An object's modification time in whole seconds since the epoch, from its file info
    (listings and HEAD requests of some stores differ below the second)."""
    for key in ("LastModified", "mtime", "created", "last_modified"):
        value = info.get(key)
        if value is None:
            continue
        return int(value.timestamp() if hasattr(value, "timestamp") else float(value))
    return None


@dataclass
class Mirror:
    """The local mirror of the workspace at `remote` (a URL)."""

    remote: str
    root: Path
    synced: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Files as last pulled or pushed: path in the workspace -> (size, mtime_ns)."""
    folders: set[str] = field(default_factory=set)
    """Top folders (and files) of the mirror at the last pull or push: one removed from the
    mirror since is removed from the store, with every object under it (tars included)."""

    @classmethod
    def open(cls, remote: str) -> Mirror:
        """A fresh mirror of `remote` in a temporary folder (removed at exit), pulled."""
        storage.url_to_fs(remote)  # one line when the filesystem's package is missing
        root = Path(tempfile.mkdtemp(prefix="wit-mirror-")).resolve()
        mirror = cls(remote.rstrip("/"), root)
        _MIRRORS[root] = mirror
        try:
            mirror.pull()
        except Exception as exc:  # the store unreachable, credentials missing or refused
            mirror.close()
            raise store_error(remote, "cannot read the workspace there", exc) from exc
        return mirror

    def close(self) -> None:
        """Forget the mirror and remove its local folder."""
        _MIRRORS.pop(self.root, None)
        shutil.rmtree(self.root, ignore_errors=True)

    def rel(self, path: Path | str) -> str:
        """The workspace path ('raw/00000.parquet') of a path in the mirror."""
        return Path(storage.local_path(path)).resolve().relative_to(self.root).as_posix()

    def url(self, path: Path | str) -> str:
        """The object URL of a path in the mirror."""
        rel = self.rel(path)
        return storage.join(self.remote, *rel.split("/")) if rel != "." else self.remote

    def _fs(self) -> tuple[Any, str]:
        fs, base = storage.url_to_fs(self.remote)
        fs.invalidate_cache()
        return fs, base.rstrip("/")

    def listing(self) -> dict[str, dict[str, Any]]:
        """Every object of the workspace by its path in the workspace, with its file info."""
        fs, base = self._fs()
        try:
            found = fs.find(base, detail=True)
        except FileNotFoundError:
            return {}
        return {
            name.rstrip("/")[len(base) + 1 :]: info
            for name, info in found.items()
            if info.get("type", "file") == "file" and name.startswith(f"{base}/")
        }

    def pull(self) -> None:
        """Copy the store's committed small files into the mirror (see the module's text)."""
        objects = self.listing()
        wanted = [rel for rel in objects if is_mirrored(rel)]
        markers = [rel for rel in wanted if is_marker(rel)]
        refused = set()
        for rel, facts in zip(markers, self._read_json(markers), strict=True):
            missing = _unverified(facts, objects)
            if missing:
                log.warning("%s: its unit is not done there (%s); it runs again", rel, missing)
                refused.add(rel)
        copied = [rel for rel in wanted if rel not in refused]
        for rel in set(self.synced) - set(copied):  # gone from the store, or now refused
            (self.root / rel).unlink(missing_ok=True)
        self._download(copied, objects)
        self.folders = {rel.split("/")[0] for rel in copied}
        self.synced = self._local_files()

    def _read_json(self, rels: list[str]) -> list[dict[str, Any]]:
        if not rels:
            return []
        fs, base = self._fs()
        bodies = fs.cat([f"{base}/{rel}" for rel in rels])
        return [json.loads(bodies[f"{base}/{rel}"]) for rel in rels]

    def _download(self, rels: list[str], objects: dict[str, dict[str, Any]]) -> None:
        if not rels:
            return
        fs, base = self._fs()
        targets = [self.root / rel for rel in rels]
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
        fs.get([f"{base}/{rel}" for rel in rels], [str(t) for t in targets])
        for rel, target in zip(rels, targets, strict=True):
            stamp = modified_time(objects.get(rel, {}))
            if stamp is not None:
                os.utime(target, (stamp, stamp))

    def fetch(self, rels: list[str]) -> None:
        """Copy these objects (a finished unit's small outputs) into the mirror."""
        wanted = [rel for rel in rels if is_mirrored(rel)]
        if not wanted:
            return
        fs, base = self._fs()
        self._download(wanted, {rel: fs.info(f"{base}/{rel}") for rel in wanted})
        for rel in wanted:
            self.synced[rel] = _stamp(self.root / rel)
            self.folders.add(rel.split("/")[0])

    def _local_files(self) -> dict[str, tuple[int, int]]:
        files = {}
        for path in self.root.rglob("*"):
            if path.is_file():
                rel = path.relative_to(self.root).as_posix()
                if is_mirrored(rel):
                    files[rel] = _stamp(path)
        return files

    def remove_everywhere(self, folder: Path) -> None:
        """Delete the mirror folder `folder` and every object under it on the store (tars
        included) now: a stage starting over (`download --overwrite`)."""
        rel = self.rel(folder)
        shutil.rmtree(folder, ignore_errors=True)
        fs, base = self._fs()
        if fs.exists(f"{base}/{rel}"):
            fs.rm(f"{base}/{rel}", recursive=True)
        self.synced = {r: stamp for r, stamp in self.synced.items() if not r.startswith(f"{rel}/")}

    def publish(self, path: Path | str) -> None:
        """Upload one file of the mirror now (a unit's marker, after its objects)."""
        rel = self.rel(path)
        storage.upload(self.root / rel, self.url(path))
        self.synced[rel] = _stamp(self.root / rel)
        self.folders.add(rel.split("/")[0])

    def unpublish(self, path: Path | str) -> None:
        """Delete one object now (a marker forgotten, so the unit runs again)."""
        rel = self.rel(path)
        storage.remove(self.url(path))
        self.synced.pop(rel, None)

    def push(self) -> None:
        """Upload what changed in the mirror since the last pull or push, stage markers last,
        and delete what was removed from it (a removed top folder with all its objects)."""
        current = self._local_files()
        changed = [rel for rel, stamp in current.items() if self.synced.get(rel) != stamp]
        deleted = [rel for rel in self.synced if rel not in current]
        gone = {folder for folder in self.folders if not (self.root / folder).exists()} - set(
            LOCAL_ONLY
        )
        fs, base = self._fs()
        for rel in sorted(deleted, key=lambda r: not is_marker(r)):  # markers first
            if rel.split("/")[0] not in gone and fs.exists(f"{base}/{rel}"):
                fs.rm(f"{base}/{rel}")
        for folder in sorted(gone):
            if fs.exists(f"{base}/{folder}"):
                fs.rm(f"{base}/{folder}", recursive=True)
        for rel in sorted(changed, key=_push_order):
            storage.upload(self.root / rel, f"{self.remote}/{rel}")
        self.synced = current
        self.folders = (self.folders - gone) | {rel.split("/")[0] for rel in current}


def _push_order(rel: str) -> tuple[int, str]:
    """Data first, then unit markers, then stage markers."""
    if rel.endswith(f"/{MARKER_FOLDER}/{STAGE_MARKER}"):
        return (2, rel)
    return (1 if is_marker(rel) else 0, rel)


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return (stat.st_size, stat.st_mtime_ns)


def _unverified(facts: dict[str, Any], objects: dict[str, dict[str, Any]]) -> str | None:
    """What is wrong with the objects a marker names, or None when each has its size."""
    for rel, expected in (facts.get(OBJECTS) or {}).items():
        size = objects.get(rel, {}).get("size")
        if size is None:
            return f"{rel} missing"
        if int(size) != int(expected.get("size", -1)):
            return f"{rel} is {size} bytes, its marker says {expected.get('size')}"
    return None

"""Paths that may be fsspec URLs (s3://, gs://, memory://, file://): one place for fsspec.

Local paths (plain or `file://`) keep the atomic rename of wit_pipeline.core.atomic. Object
stores have no rename: a file is written locally first and uploaded whole (`put_file`), so a
reader sees either no object or the complete one. A URL whose filesystem package is missing
(s3fs, gcsfs, ...) is an InputError naming the package, never a silent local write.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from glob import escape as glob_escape
from pathlib import Path
from typing import IO, Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec import AbstractFileSystem
from fsspec.registry import known_implementations

from wit_pipeline.core.atomic import atomic_path, write_bytes_atomic, write_json_atomic
from wit_pipeline.core.errors import InputError

LOCAL_PROTOCOLS = ("", "file", "local")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.:-]*)://")
VERSION_FIELDS = ("mtime", "LastModified", "ETag", "etag", "md5Hash", "created")
"""File info fields that change when an object is rewritten, by filesystem (first found)."""


def protocol(url: str | Path) -> str:
    """The URL's scheme (`s3`, `memory`, `simplecache::s3`, ...), or '' for a plain path."""
    match = _SCHEME.match(str(url))
    return match.group(1).lower() if match else ""


def is_local(url: str | Path) -> bool:
    """Whether `url` is a path on this machine (plain or `file://`)."""
    return protocol(url) in LOCAL_PROTOCOLS


def is_remote(url: str | Path) -> bool:
    """Whether `url` names an fsspec filesystem other than the local one."""
    return not is_local(url)


def local_path(url: str | Path) -> Path:
    """The local path of a plain path or `file://` URL."""
    text = str(url)
    return Path(text.split("://", 1)[1]) if protocol(text) else Path(text)


def url_to_fs(url: str | Path) -> tuple[AbstractFileSystem, str]:
    """The fsspec filesystem of `url` and the path within it; InputError (one line, naming
    the package to install) when its protocol is unknown or its package is missing."""
    try:
        return fsspec.core.url_to_fs(str(url))
    except ImportError as exc:
        known = known_implementations.get(protocol(url).rsplit("::", 1)[-1], {})
        package = known.get("class", "").split(".")[0] or "its fsspec package"
        raise InputError(
            f"{url}: the {protocol(url)}:// filesystem needs the {package} package "
            f"(pip install {package})"
        ) from exc
    except ValueError as exc:
        raise InputError(f"{url}: {exc} (not a path or a known fsspec URL)") from exc


def join(url: str | Path, *names: str) -> str:
    """`url` with `names` appended, '/'-separated (a plain path stays a plain path)."""
    if is_local(url) and not protocol(url):
        return str(Path(url).joinpath(*names))
    return "/".join([str(url).rstrip("/"), *names])


def exists(url: str | Path) -> bool:
    """Whether a file or folder is at `url`."""
    fs, path = url_to_fs(url)
    return fs.exists(path)


def is_dir(url: str | Path) -> bool:
    """Whether `url` is a folder (a prefix holding objects, on an object store)."""
    fs, path = url_to_fs(url)
    return fs.isdir(path)


def size(url: str | Path) -> int | None:
    """The size of the file at `url` in bytes, or None when there is none."""
    fs, path = url_to_fs(url)
    try:
        return int(fs.size(path))
    except FileNotFoundError:
        return None


def version(url: str | Path) -> str:
    """What changes when the file at `url` is rewritten: size plus mtime, ETag or checksum."""
    fs, path = url_to_fs(url)
    info = fs.info(path)
    stamp = next((info[k] for k in VERSION_FIELDS if k in info), "")
    return f"{info['size']}\t{stamp}"


def glob(url: str | Path, pattern: str) -> list[str]:
    """Full URLs (plain paths for a plain `url`) of the files in folder `url` matching
    `pattern`, sorted by name; glob characters in `url` itself (`[`, `*`, `?`) are literal."""
    fs, path = url_to_fs(url)
    found = sorted(fs.glob(f"{glob_escape(path.rstrip('/'))}/{pattern}"))
    return [join(url, name.rsplit("/", 1)[-1]) for name in found]


def find(url: str | Path) -> list[str]:
    """Full URLs of every file under folder `url`, recursively, sorted."""
    fs, path = url_to_fs(url)
    if not protocol(url):
        return sorted(fs.find(path))
    return sorted(fs.unstrip_protocol(p) for p in fs.find(path))


def remove(url: str | Path) -> None:
    """Delete the file at `url` if there is one."""
    fs, path = url_to_fs(url)
    if fs.exists(path):
        fs.rm(path)


def read_bytes(url: str | Path) -> bytes:
    """The content of the file at `url`."""
    fs, path = url_to_fs(url)
    return fs.cat_file(path)


@contextmanager
def open_input(url: str | Path, mode: str = "rb") -> Iterator[IO[Any]]:
    """Open the file at `url` for reading (a plain file for local paths)."""
    with open_file(url, mode) as handle:
        yield handle


def open_file(url: str | Path, mode: str = "rb") -> IO[Any]:
    """The file at `url` open for reading, with seeks (ranged reads on object stores); the
    caller closes it (or uses `open_input`)."""
    if is_local(url):
        return open(local_path(url), mode)
    fs, path = url_to_fs(url)
    return fs.open(path, mode)


def read_table(url: str | Path, columns: list[str] | None = None) -> pa.Table:
    """A parquet file's columns: local files through Arrow's own file reader, others through
    fsspec without Arrow's background pre-buffering (whose threads, left holding Python file
    objects, abort the interpreter at exit: "terminate called without an active exception")."""
    if is_local(url):
        return pq.read_table(local_path(url), columns=columns)
    with open_input(url) as handle:
        return pq.read_table(handle, columns=columns, pre_buffer=False)


def file_sizes(url: str | Path) -> dict[str, int]:
    """Sizes of the files directly in folder `url` by file name, from one listing (empty when
    there is no such folder)."""
    fs, path = url_to_fs(url)
    try:
        listing = fs.ls(path, detail=True)
    except FileNotFoundError:
        return {}
    return {
        entry["name"].rstrip("/").rsplit("/", 1)[-1]: int(entry["size"])
        for entry in listing
        if entry.get("type") == "file"
    }


@contextmanager
def atomic_output(url: str | Path) -> Iterator[Path]:
    """A local path to write the file `url` through; once the block ends without error, it is
    renamed into place (local `url`) or uploaded whole (remote); on error nothing appears."""
    if is_local(url):
        with atomic_path(local_path(url)) as temp:
            yield temp
        return
    with tempfile.TemporaryDirectory(prefix="wit-upload-") as staging:
        temp = Path(staging) / Path(str(url)).name
        yield temp
        put_file(temp, url)


def put_file(local: Path, url: str | Path) -> None:
    """Publish the finished local file `local` at `url`, whole: moved by atomic rename onto a
    local path, uploaded in one piece to a remote one (then `local` is removed)."""
    if is_local(url):
        target = local_path(url)
        with atomic_path(target) as temp:
            shutil.move(local, temp)
        return
    upload(local, str(url))
    os.unlink(local)


def upload(local: Path, url: str) -> None:
    """Upload the local file `local` whole to the remote `url` (one object; `local` stays)."""
    fs, path = url_to_fs(url)
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    fs.put_file(str(local), path)


def write_bytes(url: str | Path, data: bytes) -> None:
    """Write `data` at `url` so a reader sees all of it or nothing (one PUT on object stores)."""
    if is_local(url):
        write_bytes_atomic(local_path(url), data)
        return
    fs, path = url_to_fs(url)
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    fs.pipe_file(path, data)


def write_json(url: str | Path, obj: Any) -> None:
    """Write `obj` as indented, key-sorted JSON at `url` (as write_json_atomic does locally)."""
    if is_local(url):
        write_json_atomic(local_path(url), obj)
        return
    write_bytes(url, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8"))

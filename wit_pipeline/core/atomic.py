"""Atomic file output: write under a temporary name in the same folder, then rename.

A reader (or a later stage) therefore sees either no file or the whole file, never a half
one, even when the writer is killed. Temporary names start with a dot and contain `.tmp-`,
so stages skip them and `remove_stale_temps` can clear what a killed run left behind.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

TEMP_MARK = ".tmp-"


def temp_name_for(final: Path) -> Path:
    """A unique temporary sibling of `final` (same folder, so the rename is atomic)."""
    return final.with_name(f".{final.name}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")


def is_temp(path: Path) -> bool:
    """Whether `path` is a temporary file made by this module."""
    return path.name.startswith(".") and TEMP_MARK in path.name


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(final: Path | str) -> Iterator[Path]:
    """Yield a temporary path to write `final` through; rename it into place on success.

    On any exception the temporary file is removed and `final` is left as it was.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_name_for(final)
    try:
        yield temp
        if not temp.exists():
            raise FileNotFoundError(f"{final}: the writer produced no file")
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, final)
        _fsync_dir(final.parent)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_write(final: Path | str, mode: str = "wb", **open_kwargs: Any) -> Iterator[IO[Any]]:
    """Open a file for writing that appears under `final` only once closed without error."""
    if "w" not in mode:
        raise ValueError(f"atomic_write needs a write mode, got {mode!r}")
    with atomic_path(final) as temp, open(temp, mode, **open_kwargs) as handle:
        yield handle


def write_bytes_atomic(final: Path | str, data: bytes) -> None:
    """Write `data` to `final` atomically."""
    with atomic_write(final, "wb") as handle:
        handle.write(data)


def write_json_atomic(final: Path | str, obj: Any) -> None:
    """Write `obj` as indented, key-sorted JSON to `final` atomically."""
    with atomic_write(final, "w", encoding="utf-8") as handle:
        json.dump(obj, handle, indent=2, sort_keys=True)
        handle.write("\n")


def stale_temps(directory: Path) -> list[Path]:
    """Temporary files and folders under `directory` that an interrupted writer left."""
    if not directory.is_dir():
        return []
    found = sorted(directory.rglob(f".*{TEMP_MARK}*"))
    return [p for p in found if not any(parent in found for parent in p.parents)]


def remove_stale_temps(directory: Path) -> list[Path]:
    """Delete what `stale_temps` finds; call only when no writer is running on `directory`."""
    removed = []
    for path in stale_temps(directory):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)  # a link is removed, never what it points to
        if not path.exists() and not path.is_symlink():
            removed.append(path)
    return removed


@contextmanager
def atomic_folder(final_dir: Path, stem: str) -> Iterator[Path]:
    """Yield a temporary folder beside `final_dir`'s outputs; on success, move each file it
    holds into `final_dir` (each rename atomic), then remove it; on failure, remove it."""
    final_dir.mkdir(parents=True, exist_ok=True)
    temp = temp_name_for(final_dir / stem)
    temp.mkdir()
    try:
        yield temp
        for path in sorted(temp.iterdir()):
            os.replace(path, final_dir / path.name)
        _fsync_dir(final_dir)
        temp.rmdir()
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise

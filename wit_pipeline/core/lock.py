"""One writer per stage and workspace: a stage run holds `W/.locks/STAGE.lock` (an advisory
`flock`) from its first write to its end; a second run of the same stage on the same workspace
stops with one line naming the holder (exit 2) instead of deleting the first run's temporary
files. The kernel drops the lock when its process dies, so a killed run's lock is taken over
by the next run without any clean-up.

On a workspace on object storage the lock is a lease object on the store instead
(core.remote_lock), since two drivers share no kernel. The runner opens a stage's lock scope
(`stage_lock`); the lock itself is taken by
`Workspace.prepare()` (`acquire_for`), which every stage that writes its workspace calls before
its first write, so a run refused for bad input writes nothing, not even a lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from wit_pipeline.core.errors import InputError
from wit_pipeline.core.remote_lock import Lease

LOCKS_DIR = ".locks"


@dataclass
class _Scope:
    root: Path
    stage: str
    remote: str | None = None
    handle: IO[str] | None = None
    lease: Lease | None = None


_SCOPE: ContextVar[_Scope | None] = ContextVar("wit_pipeline_stage_lock", default=None)


@contextmanager
def stage_lock(root: Path, stage: str, remote: str | None = None) -> Iterator[None]:
    """While the block runs, this process is the only writer of `stage` on the workspace at
    `root` (the mirror of the one at the URL `remote`, when given): the lock is taken at the
    stage's first write (`Workspace.prepare`), so a run that stops at bad input before writing
    leaves no lock behind."""
    scope = _Scope(Path(root).resolve(), stage, remote)
    token = _SCOPE.set(scope)
    try:
        yield
    finally:
        _SCOPE.reset(token)
        if scope.handle is not None:
            scope.handle.close()
        if scope.lease is not None:
            scope.lease.release()


def lease_problem() -> str | None:
    """Why the stage running in this context lost its lease on object storage (another run
    took it over, or it could not be renewed), or None: a run that lost it must stop writing."""
    scope = _SCOPE.get()
    return scope.lease.problem() if scope is not None and scope.lease is not None else None


def acquire_for(root: Path) -> bool:
    """Take the lock of the stage running on `root` in this context, if not held yet; whether
    it was taken now."""
    scope = _SCOPE.get()
    if scope is None or scope.root != Path(root).resolve():
        return False
    if scope.remote is not None:
        if scope.lease is not None:
            return False
        lease = Lease(f"{scope.remote}/{LOCKS_DIR}/{scope.stage}.lock", scope.stage)
        scope.lease = lease.take()  # kept only once taken: a refused run releases nothing
        return True
    if scope.handle is not None:
        return False
    _acquire(scope)
    return True


def _acquire(scope: _Scope) -> None:
    path = scope.root / LOCKS_DIR / f"{scope.stage}.lock"
    path.parent.mkdir(exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held until the scope ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = _describe(handle.read())
        handle.close()
        raise InputError(
            f"{scope.root}: another {scope.stage} is running on this workspace ({holder}); "
            "wait for it to end or stop it, then run again (it resumes)"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join(sys.argv[:6])[:200],
    }))  # fmt: skip
    handle.flush()
    scope.handle = handle


def _describe(text: str) -> str:
    try:
        info = json.loads(text)
        return f"pid {info['pid']} on {info['host']} since {info['since']}: {info['command']}"
    except (ValueError, KeyError, TypeError):
        return "holder unknown"

"""One writer per stage on a workspace on object storage: a lease object
`W/.locks/STAGE.lock`, created with a conditional write (it fails when the object exists, so
of two runs starting together only one gets it), renewed while the stage runs and deleted at
its end. A run finding a live lease stops with one line naming the holder (exit 2); a lease
whose holder stopped renewing it (killed, or its machine gone) expires after LEASE_SECONDS,
at once when the holder was a process of this machine that no longer exists.

Each lease carries a random token: a holder renews and deletes the object only while it still
holds its own token, so a run that lost its lease (stalled past the expiry and taken over)
never overwrites or deletes the next holder's. Object stores offer no conditional delete, so
taking over an expired lease leaves a window of one request in which two runs racing for the
same expired lease could both believe they hold it; the token check after the write narrows
it to runs started within the same fraction of a second.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import secrets
import socket
import sys
import threading
import time
from typing import Any

from wit_pipeline.core import storage
from wit_pipeline.core.errors import InputError

log = logging.getLogger(__name__)

LEASE_SECONDS = 60.0
RENEW_SECONDS = 15.0


def _stale(holder: dict[str, Any]) -> bool:
    """Whether the lease `holder` wrote can be taken over: expired, or held by a process of
    this machine that is gone."""
    if float(holder.get("expires", 0)) < time.time():
        return True
    if holder.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return True
    except (OSError, KeyError, ValueError):
        return False
    return False


def _check_conditional_writes(fs: Any, url: str) -> None:
    """InputError (one line) when the filesystem's package cannot create an object only if
    it is absent (s3fs before 2024.12 has no `mode` on `pipe_file`)."""
    if "mode" not in inspect.signature(fs.pipe_file).parameters:
        raise InputError(
            f"{url}: {type(fs).__name__} cannot write an object only when it is absent, which "
            "the one-writer lease needs: upgrade its package (s3fs >= 2024.12)"
        )


class Lease:
    """The lease of one stage on one workspace URL, held from `take` to `release`."""

    def __init__(self, url: str, stage: str) -> None:
        self.url, self.stage = url, stage
        self.fs, self.path = storage.url_to_fs(url)
        self.token = secrets.token_hex(8)
        self.lost: str | None = None
        """Why the lease was lost while held (another run took it over), or None."""
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _record(self) -> bytes:
        return json.dumps({
            "token": self.token,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
            "expires": time.time() + LEASE_SECONDS,
            "command": " ".join(sys.argv[:6])[:200],
        }).encode()  # fmt: skip

    def take(self) -> Lease:
        """Create the lease object, or take over a stale one; InputError naming a live holder."""
        _check_conditional_writes(self.fs, self.url)
        for _ in range(2):
            try:
                self.fs.pipe_file(self.path, self._record(), mode="create")
            except FileExistsError:
                holder = self._holder()
                if holder is not None and not _stale(holder):
                    raise InputError(
                        f"{self.url}: another {self.stage} is running on this workspace (pid "
                        f"{holder.get('pid')} on {holder.get('host')} since {holder.get('since')}"
                        f": {holder.get('command')}); wait for it to end or stop it, then run "
                        f"again (a stopped run's lease expires within {LEASE_SECONDS:.0f} s)"
                    ) from None
                if self.fs.exists(self.path):
                    self.fs.rm(self.path)
                continue
            if self._holds():
                break
        else:
            raise InputError(f"{self.url}: another {self.stage} took this workspace just now")
        self._renewer = threading.Thread(target=self._renew, daemon=True)
        self._renewer.start()
        return self

    def _holder(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.fs.cat_file(self.path))
        except FileNotFoundError:
            return {"expires": 0}
        except ValueError:
            return None

    def _holds(self) -> bool:
        holder = self._holder()
        return holder is not None and holder.get("token") == self.token

    def problem(self) -> str | None:
        """Why this run no longer holds its lease (one read of the lease object), or None."""
        if self.lost is None:
            try:
                if not self._holds():
                    self.lost = "another run took the lease over"
            except Exception as exc:  # the store stopped answering: it may be taken over
                self.lost = f"the lease could not be read: {type(exc).__name__}: {exc}"
        return self.lost

    def _renew(self) -> None:
        while not self._stop.wait(RENEW_SECONDS):
            try:
                if not self._holds():
                    self.lost = "another run took the lease over"
                    log.error("%s: %s; this run is no longer the only writer", self.url, self.lost)
                    return
                self.fs.pipe_file(self.path, self._record())
            except Exception as exc:  # a store that stops answering: the lease will expire
                self.lost = f"{type(exc).__name__}: {exc}"
                log.error("%s: the lease could not be renewed (%s)", self.url, self.lost)
                return

    def release(self) -> None:
        """Stop renewing and delete the lease, if it is still this run's."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if self._holds():
            self.fs.rm(self.path)

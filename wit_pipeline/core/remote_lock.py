"""One writer per stage on a workspace on object storage: a lease object
`W/.locks/STAGE.lock`, created with a conditional write (it fails when the object exists, so
of two runs starting together only one gets it), renewed while the stage runs and deleted at
its end. A run finding a live lease stops with one line naming the holder (exit 2); a lease
whose holder stopped renewing it (killed, or its machine gone) expires after LEASE_SECONDS,
at once when the holder was a process of this machine that no longer exists.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from typing import Any

from wit_pipeline.core import storage
from wit_pipeline.core.errors import InputError

LEASE_SECONDS = 60.0
RENEW_SECONDS = 15.0


def _record() -> bytes:
    return json.dumps({
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        "expires": time.time() + LEASE_SECONDS,
        "command": " ".join(sys.argv[:6])[:200],
    }).encode()  # fmt: skip


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


class Lease:
    """The lease of one stage on one workspace URL, held from `take` to `release`."""

    def __init__(self, url: str, stage: str) -> None:
        self.url, self.stage = url, stage
        self.fs, self.path = storage.url_to_fs(url)
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def take(self) -> Lease:
        """Create the lease object, or take over a stale one; InputError naming a live holder."""
        for _ in range(2):
            try:
                self.fs.pipe_file(self.path, _record(), mode="create")
                break
            except FileExistsError:
                holder = self._holder()
                if holder is not None and not _stale(holder):
                    raise InputError(
                        f"{self.url}: another {self.stage} is running on this workspace (pid "
                        f"{holder.get('pid')} on {holder.get('host')} since {holder.get('since')}"
                        f": {holder.get('command')}); wait for it to end or stop it, then run "
                        f"again (a stopped run's lease expires within {LEASE_SECONDS:.0f} s)"
                    ) from None
                self.fs.rm(self.path)
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

    def _renew(self) -> None:
        while not self._stop.wait(RENEW_SECONDS):
            self.fs.pipe_file(self.path, _record())

    def release(self) -> None:
        """Stop renewing and delete the lease."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if self.fs.exists(self.path):
            self.fs.rm(self.path)

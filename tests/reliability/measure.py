"""Run a command in its own process group and measure it as a whole: wall time, exit code,
stderr, and the peak resident memory of its process tree (the sum over the command and every
descendant, sampled every few milliseconds: a pool of workers counts as a whole)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass

import psutil

from tests.reliability.killing import wait_for_group_gone

SAMPLE_SECONDS = 0.02


@dataclass(frozen=True)
class Measured:
    """What a measured run did."""

    returncode: int
    seconds: float
    peak_mib: float
    stderr: str


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


def run_measured(command: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run `command` to its end; fails when any process of its group outlives it."""
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", **(env or {})}
    with tempfile.TemporaryFile() as errors:
        start = time.monotonic()
        child = subprocess.Popen(command, env=env, stderr=errors, start_new_session=True)
        watched, peak = psutil.Process(child.pid), 0
        while child.poll() is None:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, _tree_rss(watched))
            time.sleep(SAMPLE_SECONDS)
        seconds = time.monotonic() - start
        errors.seek(0)
        stderr = errors.read().decode("utf-8", "replace")
    wait_for_group_gone(child.pid, timeout=5.0)
    return Measured(child.returncode, seconds, peak / 2**20, stderr)

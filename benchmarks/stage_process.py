"""Run one command in its own process and measure it: wall clock, CPU, and peak memory (the
process tree's summed RSS, polled, and the largest single process's maxrss from wait4)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

MB = 2**20


@dataclass(frozen=True)
class Measured:
    """What one command cost."""

    wall_s: float
    cpu_s: float
    peak_tree_mb: float
    peak_process_mb: float
    returncode: int


def tree_rss(process: psutil.Process) -> int:
    """Bytes of RSS of `process` and all its descendants, now (processes that vanish count 0)."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


class TreePeak:
    """Polls a process tree's summed RSS from a thread; `peak` is the largest seen."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.process))
            self._stop.wait(self.interval)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(command: list[str], log: Path, env: dict[str, str] | None = None) -> Measured:
    """Run `command` (output to `log`) and measure it until it exits."""
    start = time.perf_counter()
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        with TreePeak(process.pid) as peak:
            _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        wall_s=time.perf_counter() - start,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_tree_mb=peak.peak / MB,
        peak_process_mb=usage.ru_maxrss * 1024 / MB,
        returncode=process.returncode,
    )

"""What machine a benchmark ran on, printed at the top of every benchmark's output."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (or the platform's machine name)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def describe_machine() -> str:
    """CPU model, cores, load average now, and the Python version."""
    return (
        f"{cpu_name()}, {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f}), "
        f"Python {platform.python_version()}"
    )

"""The JSON rows every benchmark writes with `--json PATH` (what run_all.py turns into the
tables of BENCHMARKS.md), and the machine and code they were measured on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
from machine import describe_machine

ROW_KEYS = (
    "stage",
    "metric",
    "ours",
    "anchor",
    "anchor_value",
    "unit",
    "ratio",
    "command",
    "machine",
)


def machine_summary() -> str:
    """CPU model, cores, load average, Python, and the machine's memory."""
    return f"{describe_machine()}, {psutil.virtual_memory().total / 2**30:.0f} GiB memory"


def code_version() -> str:
    """The commit this tree is at, with '-dirty' when it has uncommitted changes."""
    return subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
    ).stdout.strip()


def command_line(script: str, argv: list[str] | None = None) -> str:
    """How to run this benchmark again: `python benchmarks/SCRIPT ARGS` (without --json)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--json" in args:
        at = args.index("--json")
        del args[at : at + 2]
    args = [a for a in args if not a.startswith("--json=")]
    return " ".join(["python", f"benchmarks/{script}", *args])


def result_row(
    stage: str,
    metric: str,
    ours: float,
    anchor: str,
    anchor_value: float,
    unit: str,
    *,
    higher_is_better: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """One comparison; ratio > 1 means ours is better (rates: ours / anchor, times: anchor /
    ours). `command` and `machine` are filled in by `write_rows`."""
    if higher_is_better:
        ratio = ours / anchor_value if anchor_value else None
    else:
        ratio = anchor_value / ours if ours else None
    return {
        "stage": stage,
        "metric": metric,
        "ours": ours,
        "anchor": anchor,
        "anchor_value": anchor_value,
        "unit": unit,
        "ratio": None if ratio is None else round(ratio, 3),
        **extra,
    }


def write_rows(path: str | os.PathLike, rows: list[dict[str, Any]], command: str) -> None:
    """Write `rows` with the command and this machine to `path` as a JSON list."""
    machine = machine_summary()
    full = [{**r, "command": command, "machine": machine} for r in rows]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(full, indent=2) + "\n")

"""The kill harness: run a stage as a real `python -m wit_pipeline` subprocess, SIGKILL it (and
every process it started) at seeded moments, and check after each kill that every file under a
final name is whole and every completion marker keeps its promise.

A kill moment is "once the stage's unit markers number at least K and the run is at work (a
temporary file exists, or it finished a unit), wait D seconds": K and D are drawn from the seed,
K sorted ascending, so the kills spread over the whole run and land inside units, between them
or in the final merge rather than during imports. The kills are chained (each rerun is killed
at the next moment), as a machine that keeps dying would do, and a last rerun finishes the
stage.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.feather as feather
import pyarrow.parquet as pq

from wit_pipeline.core.atomic import is_temp, stale_temps
from wit_pipeline.core.markers import MARKER_DIR, STAGE_UNIT

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 300


@dataclass(frozen=True)
class KillPoint:
    """Kill once `after_units` unit markers exist, `delay` seconds later."""

    after_units: int
    delay: float


def draw_kill_points(seed: int, count: int, units: int, max_delay: float) -> list[KillPoint]:
    """`count` seeded kill moments over a stage of `units` units, in run order."""
    rng = random.Random(seed)
    afters = sorted(rng.randint(0, units) for _ in range(count))
    return [KillPoint(after, rng.uniform(0.0, max_delay)) for after in afters]


def cli(workdir: Path, *arguments: str) -> list[str]:
    """The command line of one stage run on `workdir`, quiet."""
    return [sys.executable, "-m", "wit_pipeline", "--workdir", str(workdir), *arguments, "-q"]


def done_units(marker_dir: Path) -> int:
    """Unit markers written so far (not the stage marker, not temporary files)."""
    if not marker_dir.is_dir():
        return 0
    return sum(1 for p in marker_dir.glob("*.json") if p.stem != STAGE_UNIT)


def _at_work(root: Path, marker_dir: Path, before: tuple[int, set[Path]], point: KillPoint) -> bool:
    """Whether the run reached `point`'s unit count and is writing: a new marker or a new
    temporary file (those of earlier runs do not count)."""
    units = done_units(marker_dir)
    if units < point.after_units:
        return False
    return units > before[0] or bool(set(stale_temps(root)) - before[1])


def run_until_killed(command: list[str], root: Path, marker_dir: Path, point: KillPoint) -> bool:
    """Run `command` on the workspace `root` and SIGKILL its whole process group at `point`;
    False when it finished (exit 0) before the moment came."""
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    before = (done_units(marker_dir), set(stale_temps(root)))
    process = subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True)
    deadline = time.monotonic() + RUN_TIMEOUT
    while process.poll() is None and not _at_work(root, marker_dir, before, point):
        assert time.monotonic() < deadline, f"{command}: no progress in {RUN_TIMEOUT} s"
        time.sleep(0.002)
    end = time.monotonic() + point.delay
    while process.poll() is None and time.monotonic() < end:
        time.sleep(0.002)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        wait_for_group_gone(process.pid)
    assert process.returncode in (0, -signal.SIGKILL), f"{command}: exit {process.returncode}"
    return process.returncode == -signal.SIGKILL


def live_members(group: int) -> list[int]:
    """Processes of a process group that still run (exited ones awaiting reaping by init, the
    zombies, do not count: they hold no memory, files or sockets)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == group and state != "Z":
            members.append(int(stat.parent.name))
    return members


def wait_for_group_gone(group: int, timeout: float = 10.0) -> None:
    """Wait until no process of the group runs any more."""
    deadline = time.monotonic() + timeout
    while live_members(group) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert live_members(group) == [], f"processes of group {group} outlived it by {timeout} s"


def run_to_end(command: list[str]) -> None:
    """Run `command` to its end; it must succeed."""
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    done = subprocess.run(command, cwd=REPO, env=env, timeout=RUN_TIMEOUT)
    assert done.returncode == 0, f"{command} failed with exit code {done.returncode}"


def _under_temp(path: Path, root: Path) -> bool:
    return any(is_temp(Path(part)) for part in path.relative_to(root).parts)


def final_files(root: Path) -> list[Path]:
    """Every file under `root` that is not (inside) a temporary name."""
    return sorted(p for p in root.rglob("*") if p.is_file() and not _under_temp(p, root))


def assert_whole(path: Path) -> None:
    """The file reads to its end in its format (parquet, tar, JSON, Arrow)."""
    suffix = path.suffix
    if suffix == ".parquet":
        pq.read_table(path)
    elif suffix == ".tar":
        with tarfile.open(path, "r:") as tar:
            for member in tar:
                if member.isfile():
                    assert len(tar.extractfile(member).read()) == member.size, (path, member)
    elif suffix == ".json":
        json.loads(path.read_text(encoding="utf-8"))
    elif suffix == ".arrow":
        feather.read_table(path)


def _stage_marker_kept(folder: Path) -> None:
    """A finished stage has all its outputs: raw/ every planned shard, shards/ its indexes."""
    if folder.name == "raw":
        plan = json.loads((folder / ".input" / "plan.json").read_text())
        for name in plan["shards"]:
            assert (folder / MARKER_DIR / f"{Path(name).stem}.json").is_file(), (folder, name)
    if folder.name == "shards":
        sizes = json.loads((folder / "sizes.json").read_text())
        assert sorted(sizes) == sorted(p.name for p in folder.glob("*.tar")), folder
        for name in ("manifest.parquet", "stats.json", "index.wids.json", "rejected.parquet"):
            assert (folder / name).is_file(), f"{folder}: finished without {name}"


def assert_markers_kept(root: Path) -> None:
    """Each unit marker `D/.done/U.json` has its outputs `D/U.*` in place (for raw shards, the
    tar, the parquet and the stats, with the parquet's row count the marker's); each stage
    marker has the stage's outputs."""
    for marker in root.rglob(f"{MARKER_DIR}/*.json"):
        unit, folder = marker.stem, marker.parent.parent
        if _under_temp(marker, root):
            continue
        if unit == STAGE_UNIT:
            _stage_marker_kept(folder)
            continue
        outputs = [p for p in folder.glob(f"{unit}.*") if not is_temp(p)]
        assert outputs, f"{marker}: marked done, but {folder}/{unit}.* is missing"
        if folder.name == "raw":
            info = json.loads(marker.read_text())
            for name in (f"{unit}.tar", f"{unit}.parquet", f"{unit}_stats.json"):
                assert (folder / name).is_file(), f"{marker}: marked done without {name}"
            rows = pq.read_metadata(folder / f"{unit}.parquet").num_rows
            assert rows == info["count"], f"{marker}: {rows} rows, marker says {info['count']}"


def assert_consistent(root: Path) -> None:
    """After a kill: every final-named file is whole and every marker kept its promise."""
    for path in final_files(root):
        assert_whole(path)
    assert_markers_kept(root)


@dataclass
class KillReport:
    """What the harness did to one stage."""

    points: int
    killed: int


def kill_repeatedly(
    command: list[str], root: Path, marker_dir: Path, points: list[KillPoint]
) -> KillReport:
    """Kill `command` at each point in turn (each run resumes the last), checking the workspace
    after every kill; then run it to the end."""
    killed = 0
    for point in points:
        killed += run_until_killed(command, root, marker_dir, point)
        print(
            point,
            done_units(marker_dir),
            sorted(p.name for p in marker_dir.parent.iterdir())
            if marker_dir.parent.is_dir()
            else None,
        )
        assert_consistent(root)
    run_to_end(command)
    assert_consistent(root)
    return KillReport(points=len(points), killed=killed)

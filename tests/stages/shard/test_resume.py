"""Kill and resume: a shard run killed with SIGKILL mid-write, run again, gives the same bytes."""

import signal
import subprocess
import sys
import time
from pathlib import Path

from wit_pipeline.core.atomic import stale_temps
from wit_pipeline.stages.shard import verify_shards, write_shards

REPO = Path(__file__).resolve().parents[3]
SLOW_WRITER = """
import sys, time
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.shard import write, write_shards
fast = write._write_sample
def slow(*args):
    time.sleep(0.05)
    return fast(*args)
write._write_sample = slow
write_shards(Workspace.at(sys.argv[1]), samples_per_shard=2, seed=5)
"""
"""write_shards with each sample slowed down, so the test can kill it between two shards."""


def visible_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def mid_write(workspace) -> bool:
    """Whether a shard tar is being written (its temporary file exists)."""
    return any(".tar.tmp-" in p.name for p in stale_temps(workspace.shards_dir))


def test_killed_run_resumes_byte_identical(filtered_workspace, tmp_path):
    reference = write_shards(filtered_workspace, samples_per_shard=2, seed=5, out=tmp_path / "ref")
    markers = filtered_workspace.shards_dir / ".done"
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, str(filtered_workspace.root)], cwd=REPO
    )
    deadline = time.monotonic() + 60
    while not (len(list(markers.glob("*.json"))) >= 3 and mid_write(filtered_workspace)):
        assert process.poll() is None, "the writer ended before it could be killed"
        assert time.monotonic() < deadline, "the writer never got to its fourth shard"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert mid_write(filtered_workspace)
    done = len(list(markers.glob("*.json")))
    assert 3 <= done < reference.shards
    assert not (filtered_workspace.shards_dir / "sizes.json").exists()

    resumed = write_shards(filtered_workspace, samples_per_shard=2, seed=5)
    assert resumed.resumed == done and resumed.written == reference.shards - done
    assert visible_files(filtered_workspace.shards_dir) == visible_files(tmp_path / "ref")
    assert stale_temps(filtered_workspace.shards_dir) == []
    assert verify_shards(filtered_workspace.shards_dir, filtered_workspace) == []

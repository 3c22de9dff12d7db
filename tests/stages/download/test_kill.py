"""A download killed with SIGKILL and run again ends as if it had never been interrupted; a run
over every fault kind keeps its memory bounded (the 256 MiB bodies are cut at the cap)."""

import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq

from tests.workspaces import write_urls

OWN_MEMORY_MIB = 250
"""Peak memory over what importing img2dataset's parts costs (it pulls torch and wandb: about
600 MiB). A client that read the 256 MiB fault bodies whole would pass this by far."""


def _command(workdir, urls, *extra):
    return [
        sys.executable,
        "-m",
        "wit_pipeline",
        "--workdir",
        str(workdir),
        "download",
        str(urls),
        "--allow-private-networks",
        "--timeout",
        "1",
        "--retries",
        "1",
        "--samples-per-shard",
        "16",
        "--processes",
        "1",
        "--threads",
        "4",
        "-q",
        *extra,
    ]


def _keys_and_statuses(workdir):
    raw = workdir / "raw"
    rows = [r for f in sorted(raw.glob("[0-9]*.parquet")) for r in pq.read_table(f).to_pylist()]
    return [(r["key"], r["url"], r["status"], r["error_code"]) for r in rows]


def _peak_mib(command):
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return usage.ru_maxrss / 1024


def test_sigkill_then_rerun_equals_an_uninterrupted_run(tmp_path, every_kind_server, testweb_web):
    truth = testweb_web.ground_truth(every_kind_server.origin).to_pylist()
    urls = write_urls(tmp_path / "urls.parquet", truth * 2)

    baseline = _peak_mib(
        [sys.executable, "-c", "import wit_pipeline.cli, img2dataset.resizer, img2dataset.writer"]
    )
    peak = _peak_mib(_command(tmp_path / "ref", urls))
    assert peak - baseline < OWN_MEMORY_MIB, f"peak {peak:.0f} MiB, imports {baseline:.0f} MiB"

    killed = subprocess.Popen(_command(tmp_path / "run", urls))
    done = tmp_path / "run" / "raw" / ".done"
    deadline = time.monotonic() + 120
    while not (done.is_dir() and any(done.glob("0*.json"))) and time.monotonic() < deadline:
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert killed.returncode == -signal.SIGKILL
    finished = len(list(done.glob("0*.json")))
    assert 1 <= finished < len(truth) * 2 // 16 + 1, "the kill must land mid-run"

    rerun = subprocess.run(_command(tmp_path / "run", urls), timeout=300)
    assert rerun.returncode == 0
    got = _keys_and_statuses(tmp_path / "run")
    assert got == _keys_and_statuses(tmp_path / "ref")
    assert len({key for key, *_ in got}) == len(truth) * 2
    assert not [p for p in (tmp_path / "run" / "raw").iterdir() if ".tmp-" in p.name]

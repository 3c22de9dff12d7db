"""Hostile servers: every test-web fault kind in one download, plus many URLs on one slow host.
The run ends in bounded time and memory, gives every row its error code, keeps each host under
its concurrency cap, and leaves no process, thread or connection behind."""

import os
import subprocess
import sys
import threading
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tqdm._monitor import TMonitor

from tests.reliability.killing import wait_for_group_gone
from tests.reliability.sites import jpeg, serving
from tests.stages.download.conftest import EXPECTED_CODE
from tests.workspaces import FAST, write_urls
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.download import InputSpec, download
from wit_pipeline.stages.scrape import CrawlOptions, ScrapeOptions, scrape

SLOW_URLS, SLOW_SECONDS, PER_HOST = 64, 0.25, 4
PROCESSES = 2
TIME_BOUND = 90.0
"""Seconds: the faults cost a few seconds each at most (1 s deadline, one retry, Retry-After
1 s), the slow host 64 x 0.25 s / (2 processes x 4) = 2 s; a client without an overall
deadline or body cap would hang on the drip and read the 256 MiB bodies whole."""
CRAWL_BOUND = 15.0
"""Seconds for a crawl of three hostile seeds with a 1 s deadline (the drip alone holds a
client without an overall deadline for as long as the server likes)."""
OWN_MEMORY_MIB = 300
"""Peak memory over what importing the download's parts costs (torch, img2dataset)."""


def _peak_mib(command: list[str]) -> tuple[float, int, float]:
    """Run a command in its own process group: (peak RSS in MiB of its largest process, exit
    code, seconds); fails when any process of the group outlives it."""
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    start = time.monotonic()
    process = subprocess.Popen(command, env=env, start_new_session=True)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - start
    wait_for_group_gone(process.pid, timeout=5.0)
    return usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), seconds


@pytest.fixture(scope="module")
def slow_host():
    with serving({"*": jpeg(64, delay=SLOW_SECONDS)}) as site:
        yield site


def test_every_fault_and_a_slow_host_in_one_run(tmp_path, fresh_testweb, testweb_web, slow_host):
    truth = testweb_web.ground_truth(fresh_testweb.origin).to_pylist()
    slow = [f"{slow_host.origin}/img/{i}.jpg" for i in range(SLOW_URLS)]
    urls = [r["url"] for r in truth] + slow
    path = tmp_path / "urls.parquet"
    pq.write_table(pa.table({"url": urls, "caption": ["a red square"] * len(urls)}), path)
    baseline, _, _ = _peak_mib(
        [sys.executable, "-c", "import wit_pipeline.cli, img2dataset.resizer, img2dataset.writer"]
    )
    command = [
        sys.executable,
        "-m",
        "wit_pipeline",
        "--workdir",
        str(tmp_path / "w"),
        "download",
        str(path),
        "--allow-private-networks",
        "--timeout",
        "1",
        "--retries",
        "1",
        "--samples-per-shard",
        "30",
        "--processes",
        str(PROCESSES),
        "--threads",
        "16",
        "--max-per-host",
        str(PER_HOST),
        "-q",
    ]
    peak, code, seconds = _peak_mib(command)
    assert code == 0
    assert seconds < TIME_BOUND
    assert peak - baseline < OWN_MEMORY_MIB, f"peak {peak:.0f} MiB, imports {baseline:.0f} MiB"
    raw = Workspace(tmp_path / "w").raw_dir
    rows = [r for f in sorted(raw.glob("[0-9]*.parquet")) for r in pq.read_table(f).to_pylist()]
    assert [r["url"] for r in rows] == urls
    expected = [EXPECTED_CODE[r["kind"]] for r in truth] + [None] * SLOW_URLS
    assert [r["error_code"] for r in rows] == expected
    assert sorted(r for r in slow_host.requests if r.startswith("/img/")) == sorted(
        u.removeprefix(slow_host.origin) for u in slow
    )
    # each process may read the host's robots.txt while its PER_HOST image requests run
    assert 1 < slow_host.peak <= (PER_HOST + 1) * PROCESSES


def _new_threads(before: set[threading.Thread]) -> set[threading.Thread]:
    """Threads started since `before`, less tqdm's monitor (tqdm starts it for every bar, even
    a disabled one, and it ends itself within 10 s of the last bar)."""
    return {t for t in set(threading.enumerate()) - before if not isinstance(t, TMonitor)}


def test_no_thread_or_connection_outlives_a_download(tmp_path, fresh_testweb, testweb_web):
    truth = testweb_web.ground_truth(fresh_testweb.origin).to_pylist()
    urls = write_urls(tmp_path / "urls.parquet", truth)
    before = set(threading.enumerate())
    summary = download(Workspace(tmp_path / "w"), InputSpec(urls, samples_per_shard=20), FAST)
    assert summary.rows == len(truth)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (
        _new_threads(before) or fresh_testweb.open_connections()
    ):
        time.sleep(0.05)
    assert _new_threads(before) == set()
    assert fresh_testweb.open_connections() == 0


def test_a_crawl_cannot_be_held_by_a_dripping_or_huge_page(testweb, testweb_truth, tmp_path):
    seeds = [
        next(r["url"] for r in testweb_truth if r["kind"] == kind)
        for kind in ("drip", "slow_first_byte", "huge_body_chunked")
    ]
    crawl = CrawlOptions(
        timeout=1.0, max_page_bytes=1_000_000, requests_per_second=1000, allow_private_networks=True
    )
    start = time.monotonic()
    summary = scrape(
        Workspace(tmp_path / "w"), seeds, ScrapeOptions(crawl=crawl, progress=False, processes=1)
    )
    assert time.monotonic() - start < CRAWL_BOUND
    assert summary.counts["timeout"] == 2 and summary.counts["non_html_page"] == 1

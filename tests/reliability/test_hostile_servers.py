"""Hostile servers: every test-web fault kind in one download, plus many URLs on one slow host;
then every route of the red team's hostile server (wit_pipeline.testweb.hostile) through
`download`, `scrape` and the download's http(s) input. Each run ends in bounded time and
memory, gives every row its error code, keeps each host (however spelt) under its concurrency
cap, and leaves no process, thread or connection behind."""

import logging
import os
import subprocess
import sys
import tarfile
import threading
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tqdm._monitor import TMonitor

from tests.reliability.killing import cli, wait_for_group_gone
from tests.reliability.measure import run_measured
from tests.reliability.sites import jpeg, serving
from tests.stages.download.conftest import EXPECTED_CODE
from tests.workspaces import FAST, write_urls
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.download import InputSpec, download
from wit_pipeline.stages.download.decode import DEFAULT_MAX_DECODE_BYTES
from wit_pipeline.stages.scrape import CrawlOptions, ScrapeOptions, scrape
from wit_pipeline.testweb.hostile import CAFE_PATH, LOOPBACK_SPELLINGS, HostileServer

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


HOSTILE_BOUND = 60.0
"""Seconds for one download of every hostile route with a 1 s deadline (imports take most of
it on a loaded 2-core machine); a client the chunked routes hold waits for the server's
HOLD_SECONDS (120) instead."""
HOSTILE_ROUTES = {
    "/chunked/size-line-drip.jpg": "timeout",
    "/chunked/extension-drip.jpg": "timeout",
    "/chunked/trailer-flood.jpg": "connection_error",
    "/chunked/cut-size-line.jpg": "timeout",
    "/bomb/palette.png": "too_many_pixels",
    "/bomb/rgba.png": "too_many_pixels",
    "/bomb/screen.gif": "too_many_pixels",
    "/tiff/planar16.tif": None,
    "/images/café au lait.jpg": None,
    "/hop/0/x.jpg": None,
}
"""Each route of the hostile server and the error code its row must end with."""


def _download_command(workdir, urls_file, *flags: str) -> list[str]:
    return cli(
        workdir,
        "download",
        str(urls_file),
        "--allow-private-networks",
        "--timeout",
        "1",
        "--retries",
        "0",
        "--samples-per-shard",
        "10",
        "--processes",
        str(PROCESSES),
        "--threads",
        "16",
        "--max-per-host",
        str(PER_HOST),
        *flags,
    )


def _url_list(path, urls: list[str]):
    pq.write_table(pa.table({"url": urls, "caption": ["a red square on white"] * len(urls)}), path)
    return path


def _rows(workdir) -> list[dict]:
    raw = Workspace(workdir).raw_dir
    return [r for f in sorted(raw.glob("[0-9]*.parquet")) for r in pq.read_table(f).to_pylist()]


def test_every_hostile_route_in_one_download(tmp_path):
    """The red team's findings in one run with two processes: chunked answers that never end
    or end wrong, memory bombs, a TIFF OpenCV decodes differently each time, a URL with a
    space and an accent, an unencodable URL, a redirect chain over six origins, the same
    chain behind robots.txt files of slow redirects (one deadline for all of it), and 24
    slow images on six spellings of one host. It ends in bounded time; the process tree
    stays within one decode budget per process of an ordinary run; every row gets its code."""
    with (
        HostileServer(slow_seconds=0.2) as hostile,
        HostileServer(robots_hops=5, robots_hop_seconds=0.3) as slow_robots,
    ):
        expected = {hostile.url(path): code for path, code in HOSTILE_ROUTES.items()}
        expected["http://exa mple.org/x.jpg"] = "invalid_url"
        expected[slow_robots.url("/hop/0/x.jpg")] = "timeout"
        for i in range(24):
            expected[hostile.url(f"/slow/{i}.jpg", LOOPBACK_SPELLINGS[i % 6])] = None
        urls = list(expected)
        ordinary = _url_list(tmp_path / "ordinary.parquet", [hostile.url(CAFE_PATH)] * 40)
        baseline = run_measured(_download_command(tmp_path / "b", ordinary))
        hostile.peak = 0
        run = run_measured(
            _download_command(tmp_path / "w", _url_list(tmp_path / "urls.parquet", urls))
        )
        assert (baseline.returncode, run.returncode) == (0, 0), run.stderr[-2000:]
        assert run.seconds < HOSTILE_BOUND
        budget_mib = PROCESSES * DEFAULT_MAX_DECODE_BYTES / 2**20
        assert run.peak_mib - baseline.peak_mib < budget_mib, (run, baseline)
        rows = _rows(tmp_path / "w")
        assert [(r["url"], r["error_code"]) for r in rows] == list(expected.items())
        assert hostile.targets().count(CAFE_PATH) == 40 + 1
        assert hostile.peak <= (PER_HOST + 1) * PROCESSES


def test_three_downloads_of_a_planar_tiff_store_the_same_bytes(tmp_path):
    with HostileServer() as hostile:
        urls = _url_list(tmp_path / "urls.parquet", [hostile.url("/tiff/planar16.tif")] * 3)
        summary = download(Workspace(tmp_path / "w"), InputSpec(urls), FAST)
    assert summary.status == {"success": 3}
    raw = Workspace(tmp_path / "w").raw_dir
    assert len({r["sha256"] for r in _rows(tmp_path / "w")}) == 1
    with tarfile.open(raw / "00000.tar") as tar:
        images = {tar.extractfile(m).read() for m in tar if m.name.endswith(".jpg")}
    assert len(images) == 1


def test_a_crawl_of_the_hostile_server(tmp_path):
    """The crawl meets every chunked route as a page and follows a link with a space; the
    pairs of `café au lait.jpg` carry the URL a browser asks for, and that URL downloads."""
    crawl = CrawlOptions(
        timeout=1.0, requests_per_second=1000, max_depth=1, allow_private_networks=True
    )
    with HostileServer() as hostile:
        start = time.monotonic()
        summary = scrape(
            Workspace(tmp_path / "w"),
            [hostile.url("/pages/index.html")],
            ScrapeOptions(crawl=crawl, progress=False, processes=1),
        )
        assert time.monotonic() - start < CRAWL_BOUND
        assert summary.counts["timeout"] == 3 and summary.counts["connection_error"] == 1
        assert "/pages/more%20pages.html" in hostile.targets()
        pairs = pq.read_table(Workspace(tmp_path / "w").pairs_dir).to_pylist()
        assert {p["url"] for p in pairs} == {hostile.url(CAFE_PATH)}
        assert len(pairs) == 2
        workspace = Workspace(tmp_path / "w")
        got = download(workspace, InputSpec(workspace.pairs_dir), FAST)
    assert got.status == {"success": 2}


def test_an_endless_http_input_stops_at_its_cap(tmp_path):
    """An endless CSV filled a 200 MB TMPDIR in 0.7 s; now one line, exit 2, nothing left."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    with HostileServer() as hostile:
        command = cli(
            tmp_path / "w",
            "download",
            hostile.url("/endless.csv"),
            "--allow-private-networks",
            "--max-input-bytes",
            "5000000",
        )
        run = run_measured(command, env={"TMPDIR": str(temp)})
    assert run.returncode == 2
    assert run.seconds < CRAWL_BOUND
    assert run.stderr.count("\n") == 1 and "--max-input-bytes 5,000,000" in run.stderr
    assert list(temp.iterdir()) == [] and not (tmp_path / "w" / "raw").exists()


def test_the_reader_is_not_held_by_a_stalled_shard_and_runs_no_shell(caplog):
    """Streaming training data over http: a shard whose server stops sending ends after the
    reader's http timeout with a log line, and the next shard is read; a URL with a quote in it
    is fetched as it is (webdataset's gopen would hand it to a shell through curl)."""
    from wit_pipeline.reader import shard_pipeline

    caplog.set_level(logging.WARNING, logger="wit_pipeline.reader")
    with HostileServer() as hostile:
        urls = [hostile.url("/shards/stalled.tar"), hostile.url("/shards/quote's.tar")]
        start = time.monotonic()
        pipeline = shard_pipeline(urls, decode=None, http_timeout=1.0)
        keys = sorted(
            (sample["__url__"].rsplit("/", 1)[1], sample["__key__"]) for sample in pipeline
        )
        seconds = time.monotonic() - start
    # the shard order is shuffled per epoch; the stalled one gives what arrived before the stall
    assert keys == [
        ("quote's.tar", "000000000"),
        ("quote's.tar", "000000001"),
        ("stalled.tar", "000000000"),
    ]
    assert seconds < 20
    assert any(
        "stalled.tar" in r.getMessage() and "timed out" in r.getMessage() for r in caplog.records
    )

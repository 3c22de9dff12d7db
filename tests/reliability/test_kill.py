"""Crash safety: each stage, run as `python -m wit_pipeline ...`, is SIGKILLed at seeded moments
(`--kill-points`, chained: every rerun resumes the last), checked after each kill (no partial
file under a final name, every marker keeps its promise), finished, and compared with an
uninterrupted run: the same rows, no sample lost or duplicated, byte-identical final shards."""

import shutil
import tarfile
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.reliability.killing import cli, draw_kill_points, kill_repeatedly
from tests.workspaces import write_urls
from wit_pipeline.core.markers import MARKER_DIR, Markers
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.net.fetch import FetchOptions
from wit_pipeline.stages.download import DownloadOptions, InputSpec, download
from wit_pipeline.stages.filter import DecideOptions, ScoreOptions, filter_stage
from wit_pipeline.stages.scrape import CrawlOptions, ScrapeOptions, scrape
from wit_pipeline.stages.shard import verify_shards, write_shards
from wit_pipeline.testweb.archives import write_warc

QUICK_KINDS = frozenset(
    {
        "ok",
        "redirect_ok",
        "not_found",
        "gone",
        "huge_body",
        "huge_body_chunked",
        "html_as_image",
        "corrupt_image",
        "decompression_bomb",
        "redirect_loop",
        "noai",
        "robots_disallowed",
    }
)
"""Test-web kinds that answer at once: the harness spends its time in the stage, not waiting
on timeouts (the hostile-server test has every kind)."""
SAMPLES_PER_RAW_SHARD = 6
DOWNLOAD_FLAGS = (
    "--allow-private-networks",
    "--timeout",
    "5",
    "--retries",
    "1",
    "--samples-per-shard",
    str(SAMPLES_PER_RAW_SHARD),
    "--processes",
    "1",
    "--threads",
    "8",
)
DOWNLOAD_OPTIONS = DownloadOptions(
    fetch=FetchOptions(timeout=5, retries=1, allow_private_networks=True),
    threads=8,
    processes=1,
    progress=False,
)
"""The uninterrupted reference download: the same settings as DOWNLOAD_FLAGS."""
WARC_FILES, WARC_COPIES = 5, 60


def _copy(source: Path, target: Path) -> Workspace:
    shutil.copytree(source, target)
    return Workspace(target)


def _rows(folder: Path, pattern: str) -> list[dict]:
    return [r for f in sorted(folder.glob(pattern)) for r in pq.read_table(f).to_pylist()]


def _images(raw_dir: Path) -> dict[str, bytes]:
    images = {}
    for path in sorted(raw_dir.glob("[0-9]*.tar")):
        with tarfile.open(path) as tar:
            for member in tar:
                if member.name.endswith(".jpg"):
                    images[member.name] = tar.extractfile(member).read()
    return images


def _visible_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def kill_urls(tmp_path_factory, testweb_truth) -> Path:
    rows = [r for r in testweb_truth if r["kind"] in QUICK_KINDS]
    return write_urls(tmp_path_factory.mktemp("kill-input") / "urls.parquet", rows)


@pytest.fixture(scope="module")
def downloaded(kill_urls, tmp_path_factory) -> Workspace:
    """The uninterrupted download (in process), read-only."""
    workspace = Workspace(tmp_path_factory.mktemp("kill-downloaded") / "w")
    download(
        workspace, InputSpec(kill_urls, samples_per_shard=SAMPLES_PER_RAW_SHARD), DOWNLOAD_OPTIONS
    )
    return workspace


@pytest.fixture(scope="module")
def filtered(downloaded, tmp_path_factory) -> Workspace:
    """The uninterrupted filter run on a copy of `downloaded`, read-only."""
    workspace = _copy(downloaded.root, tmp_path_factory.mktemp("kill-filtered") / "w")
    filter_stage(workspace, ScoreOptions(clip=None, workers=0, progress=False), DecideOptions())
    return workspace


@pytest.fixture(scope="module")
def warcs(tmp_path_factory, testweb_web, testweb) -> list[str]:
    """The test web's pages packed into several WARC files (one scrape unit each)."""
    pages = [
        (testweb.url(route.path), testweb_web.body(route, testweb.origin))
        for route in testweb_web.routes.values()
        if route.kind == "page"
    ]
    folder = tmp_path_factory.mktemp("kill-warcs")
    paths = []
    for number in range(WARC_FILES):
        path = folder / f"pages-{number}.warc.gz"
        copies = [
            (f"{url}?copy={number}-{copy}", html)
            for copy in range(WARC_COPIES)
            for url, html in pages
        ]
        write_warc(path, copies)
        paths.append(str(path))
    return paths


def test_killed_scrape_ends_with_the_same_pairs(warcs, testweb, tmp_path, kill_points, kill_seed):
    sources = [testweb.base_url + "index.html", *warcs]
    crawl = CrawlOptions(requests_per_second=1000, allow_private_networks=True)
    reference = Workspace(tmp_path / "ref")
    scrape(reference, sources, ScrapeOptions(crawl=crawl, progress=False, processes=1))
    workdir = tmp_path / "killed"
    points = draw_kill_points(kill_seed, kill_points, len(sources), max_delay=0.3)
    flags = ("--processes", "1", "--rate", "1000", "--allow-private-networks")
    report = kill_repeatedly(
        cli(workdir, "scrape", *sources, *flags),
        workdir,
        workdir / "pairs" / ".units" / MARKER_DIR,
        points,
    )
    assert report.killed >= 1, "no kill landed before the stage finished"
    got = _rows(workdir / "pairs", "part-*.parquet")
    assert got == _rows(reference.pairs_dir, "part-*.parquet")
    assert len({r["uid"] for r in got}) == len(got) > 0
    assert any(r["source"] == sources[0] for r in got), "the crawl gave no pairs"


def test_killed_download_ends_with_every_row_once(
    kill_urls, downloaded, tmp_path, kill_points, kill_seed
):
    workdir = tmp_path / "killed"
    units = len(list(downloaded.raw_dir.glob("[0-9]*.tar")))
    points = draw_kill_points(kill_seed + 1, kill_points, units, max_delay=0.15)
    report = kill_repeatedly(
        cli(workdir, "download", str(kill_urls), *DOWNLOAD_FLAGS),
        workdir,
        workdir / "raw" / MARKER_DIR,
        points,
    )
    assert report.killed >= 1, "no kill landed before the stage finished"
    got = _rows(workdir / "raw", "[0-9]*.parquet")
    expected = _rows(downloaded.raw_dir, "[0-9]*.parquet")
    assert [r["url"] for r in got] == [r["url"] for r in pq.read_table(kill_urls).to_pylist()]
    assert len({r["key"] for r in got}) == len(got)
    fields = ("key", "url", "caption", "status", "error_code", "sha256", "width", "height")
    assert [[r[f] for f in fields] for r in got] == [[r[f] for f in fields] for r in expected]
    assert _images(workdir / "raw") == _images(downloaded.raw_dir)


def test_killed_filter_ends_with_the_same_decisions(
    downloaded, filtered, tmp_path, kill_points, kill_seed
):
    workspace = _copy(downloaded.root, tmp_path / "killed")
    units = len(list(downloaded.raw_dir.glob("[0-9]*.tar")))
    points = draw_kill_points(kill_seed + 2, kill_points, units, max_delay=0.05)
    report = kill_repeatedly(
        cli(workspace.root, "filter", "--clip-model", "none", "--workers", "0"),
        workspace.root,
        workspace.scores_dir / MARKER_DIR,
        points,
    )
    assert report.killed >= 1, "no kill landed before the stage finished"
    assert _rows(workspace.scores_dir, "*.parquet") == _rows(filtered.scores_dir, "*.parquet")
    decisions = pq.read_table(workspace.decisions_path)
    assert decisions.equals(pq.read_table(filtered.decisions_path))
    assert len(set(decisions["key"].to_pylist())) == decisions.num_rows


def test_killed_shard_ends_byte_identical(filtered, tmp_path, kill_points, kill_seed):
    reference = write_shards(filtered, samples_per_shard=2, seed=7, out=tmp_path / "ref")
    workspace = _copy(filtered.root, tmp_path / "killed")
    points = draw_kill_points(kill_seed + 3, kill_points, reference.shards, max_delay=0.02)
    report = kill_repeatedly(
        cli(workspace.root, "shard", "--samples-per-shard", "2", "--seed", "7"),
        workspace.root,
        workspace.shards_dir / MARKER_DIR,
        points,
    )
    assert report.killed >= 1, "no kill landed before the stage finished"
    assert _visible_bytes(workspace.shards_dir) == _visible_bytes(tmp_path / "ref")
    assert verify_shards(workspace.shards_dir, workspace) == []


def test_a_retry_cut_between_its_files_converges(tmp_path, testweb_truth):
    """A `--retry-failed` killed after moving a shard's new parquet but before its tar leaves
    rows marked successful without their image; the next retry fetches those again."""
    kinds = ("ok", "slow_first_byte", "not_found")
    path = write_urls(
        tmp_path / "u.parquet", [next(r for r in testweb_truth if r["kind"] == k) for k in kinds]
    )
    workspace = Workspace(tmp_path / "w")
    impatient = replace(
        DOWNLOAD_OPTIONS, fetch=replace(DOWNLOAD_OPTIONS.fetch, timeout=1.0, retries=0)
    )
    download(workspace, InputSpec(path), impatient)
    tar = workspace.raw_dir / "00000.tar"
    old_tar = tar.read_bytes()
    patient = replace(DOWNLOAD_OPTIONS, retry_failed=True)
    download(workspace, InputSpec(path), patient)
    tar.write_bytes(old_tar)
    Markers(workspace.raw_dir).forget("00000")

    summary = download(workspace, InputSpec(path), patient)
    assert summary.retried == 1
    rows = pq.read_table(workspace.raw_dir / "00000.parquet").to_pylist()
    assert [r["error_code"] for r in rows] == [None, None, "http_404"]
    with tarfile.open(tar) as archive:
        names = archive.getnames()
    assert all(f"{r['key']}.jpg" in names for r in rows if r["status"] == "success")
    assert Markers(workspace.raw_dir).is_done("00000")

"""The scrape stage end to end on files: real Common Crawl data, dedupe, resume, bad sources."""

import http.server
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from wit_pipeline.cli import main
from wit_pipeline.core.markers import Markers
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.core.validate import validate_input
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.scrape import CrawlOptions, ScrapeOptions, scrape
from wit_pipeline.stages.scrape.stage import pair_uid
from wit_pipeline.testweb.archives import wat_envelope, write_warc, write_wat

QUIET = ScrapeOptions(progress=False)


def _pairs(workspace):
    files = sorted(workspace.pairs_dir.glob("part-*.parquet"))
    return [row for f in files for row in pq.read_table(f).to_pylist()]


def test_real_warc_pairs(realdata_warc, tmp_path, capsys):
    assert (
        main(["--workdir", str(tmp_path), "scrape", str(realdata_warc), "--processes", "1", "-q"])
        == 0
    )
    pairs = {p["url"]: p for p in _pairs(Workspace(tmp_path))}
    shield = (
        "https://upload.wikimedia.org/wikipedia/commons/thumb/0/0a/"
        "Escudo_de_Escopete_%28Guadalajara%29.svg/140px-Escudo_de_Escopete_%28Guadalajara%29.svg.png"
    )
    assert pairs[shield]["caption"] == "Escudo d'armas"
    assert pairs[shield]["page_url"] == "https://an.wikipedia.org/wiki/Escopete"
    assert pairs[shield]["caption_source"] == "alt"
    assert pairs[shield]["uid"] == pair_uid(shield, "Escudo d'armas")
    footer = "https://an.wikipedia.org/static/images/footer/wikimedia-button-2x.png"
    assert pairs[footer]["caption"] == "Wikimedia Foundation"
    assert all(p["caption"] for p in pairs.values())
    assert not any("wikipedia.png" in url or "CentralAutoLogin" in url for url in pairs)
    assert all(url.startswith("https://") for url in pairs)
    assert all(
        validate_input(f, load_schema("pairs"))[0].ok
        for f in Workspace(tmp_path).pairs_dir.glob("part-*.parquet")
    )


def test_summary_line_counts_drops(realdata_warc, tmp_path, capsys):
    assert main(["--workdir", str(tmp_path), "scrape", str(realdata_warc), "--processes", "1"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("scraped 1 sources (1 run, 0 resumed): 1 pages, 13 images -> 5 pairs")
    assert "empty_caption 6" in line


def _page(i, caption="a red star"):
    return (
        f"http://h.test/p{i}.html",
        f'<img src="/img/{i}.jpg" alt="{caption}"><img src="/shared.jpg" alt="the same '
        f'picture"><img src="/img/x{i}.jpg" alt="IMG_00{i}.JPG">'.encode(),
    )


def test_dedupe_across_sources_and_by_url(tmp_path):
    warc = tmp_path / "a.warc.gz"
    wat = tmp_path / "b.wat.gz"
    write_warc(warc, [_page(1), _page(2)])
    write_wat(wat, [(url, wat_envelope(url, html)) for url, html in [_page(2), _page(3, "blue")]])
    workspace = Workspace(tmp_path / "w")
    summary = scrape(workspace, [str(warc), str(wat)], QUIET)
    urls = [p["url"] for p in _pairs(workspace)]
    assert urls == [
        "http://h.test/img/1.jpg",
        "http://h.test/shared.jpg",
        "http://h.test/img/2.jpg",
    ]
    assert summary.dropped == {"too_short": 1, "filename_like": 4, "duplicate": 4}
    assert summary.pairs_before_dedupe == 7

    dedupe_url = scrape(
        Workspace(tmp_path / "u"), [str(warc)], ScrapeOptions(progress=False, dedupe_url=True)
    )
    assert dedupe_url.pairs == 3


def test_rerun_resumes_finished_units_and_replaces_parts(tmp_path):
    warc = tmp_path / "a.warc"
    write_warc(warc, [_page(i) for i in range(5)], compress=False)
    workspace = Workspace(tmp_path / "w")
    first = scrape(workspace, [str(warc)], ScrapeOptions(progress=False, rows_per_part=2))
    assert (first.units_run, first.units_skipped, first.parts, first.pairs) == (1, 0, 3, 6)
    second = scrape(workspace, [str(warc)], QUIET)
    assert (second.units_run, second.units_skipped, second.parts, second.pairs) == (0, 1, 1, 6)
    assert sorted(p.name for p in workspace.pairs_dir.glob("part-*")) == ["part-00000.parquet"]
    assert Markers(workspace.pairs_dir).stage_done()
    assert Markers(workspace.pairs_dir).done_units() == ["part-00000"]


def test_language_filter(tmp_path):
    warc = tmp_path / "a.warc"
    write_warc(
        warc,
        [
            (
                "http://h.test/",
                '<img src="a.jpg" alt="a small red star on a grey '
                'background"><img src="b.jpg" alt="une petite étoile de couleur verte sur '
                'un fond gris">'.encode(),
            )
        ],
        compress=False,
    )
    summary = scrape(
        Workspace(tmp_path / "w"),
        [str(warc)],
        ScrapeOptions(progress=False, rules=QUIET.rules.__class__(langs=frozenset({"fr"}))),
    )
    (pair,) = _pairs(Workspace(tmp_path / "w"))
    assert pair["lang"] == "fr" and summary.dropped == {"wrong_lang": 1}


def test_local_html_folder_with_base_url_and_parallel_units(tmp_path):
    site = tmp_path / "site" / "sub"
    site.mkdir(parents=True)
    (site / "a.html").write_text('<img src="../img/a.jpg" alt="a red star">')
    (site.parent / "b.htm").write_text('<img src="img/b.jpg" alt="a blue star">')
    warc = tmp_path / "c.warc"
    write_warc(warc, [_page(7)], compress=False)
    workspace = Workspace(tmp_path / "w")
    options = ScrapeOptions(progress=False, base_url="http://127.0.0.1:9/", processes=2)
    summary = scrape(workspace, [str(site.parent), str(warc)], options)
    urls = {p["url"]: p["page_url"] for p in _pairs(workspace)}
    assert urls["http://127.0.0.1:9/img/a.jpg"] == "http://127.0.0.1:9/sub/a.html"
    assert urls["http://127.0.0.1:9/img/b.jpg"] == "http://127.0.0.1:9/b.htm"
    assert "http://h.test/img/7.jpg" in urls
    assert summary.units_run == 2


def test_html_without_base_url_has_only_absolute_images(tmp_path):
    (tmp_path / "a.html").write_text(
        '<img src="rel.jpg" alt="a red star"><img src="https://x.test/abs.jpg" alt="a blue star">'
    )
    summary = scrape(Workspace(tmp_path / "w"), [str(tmp_path / "a.html")], QUIET)
    assert [p["url"] for p in _pairs(Workspace(tmp_path / "w"))] == ["https://x.test/abs.jpg"]
    assert summary.dropped == {"not_http": 1}


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("missing.warc", "missing.warc: no such file or folder"),
        (
            "notes.txt",
            "notes.txt: not a source (expected .html/.htm, .warc[.gz], .wat[.gz], a "
            "folder of those, or an http(s) URL)",
        ),
        ("empty", "empty: folder holds no .html, .warc or .wat files"),
    ],
)
def test_bad_sources_are_one_line_exit_2_and_write_nothing(
    tmp_path, monkeypatch, capsys, argument, message
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    assert main(["--workdir", "w", "scrape", argument]) == 2
    assert capsys.readouterr().err == f"wit-pipeline: error: {message}\n"
    assert not (tmp_path / "w").exists()


def test_damaged_archives_are_counted_and_the_run_goes_on(realdata_warc, tmp_path):
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(realdata_warc.read_bytes()[:9000])
    fake = tmp_path / "fake.warc.gz"
    fake.write_bytes(b"\x1f\x8b" + bytes(300))
    summary = scrape(Workspace(tmp_path / "w"), [str(realdata_warc), str(cut), str(fake)], QUIET)
    assert summary.problems == {"not_a_warc_file": 1, "truncated_record": 1}
    assert summary.pairs == 5


def test_rewritten_source_file_is_scraped_again(tmp_path):
    warc = tmp_path / "a.warc"
    write_warc(warc, [_page(1)], compress=False)
    workspace = Workspace(tmp_path / "w")
    scrape(workspace, [str(warc)], QUIET)
    write_warc(warc, [_page(1), _page(2)], compress=False)
    again = scrape(workspace, [str(warc)], QUIET)
    assert (again.units_run, again.units_skipped, again.pairs) == (1, 0, 3)


def test_sigkilled_scrape_resumes_to_the_same_pairs(tmp_path):
    sources = []
    for i in range(4):
        sources.append(str(tmp_path / f"s{i}.warc"))
        # big enough (about a second per file) that the kill lands inside a later unit
        write_warc(Path(sources[-1]), [_page(10_000 * i + j) for j in range(1500)], compress=False)
    reference = scrape(Workspace(tmp_path / "ref"), sources, QUIET)
    workdir = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "wit_pipeline",
        "--workdir",
        str(workdir),
        "scrape",
        *sources,
        "--processes",
        "1",
        "--rate",
        "1000",
        "-q",
    ]
    process = subprocess.Popen(command)
    marker_dir = workdir / "pairs" / ".units" / ".done"
    deadline = time.monotonic() + 60
    while (
        not (marker_dir.is_dir() and any(marker_dir.glob("*.json"))) and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert not list((workdir / "pairs").glob("part-*.parquet"))
    resumed = scrape(Workspace(workdir), sources, QUIET)
    assert resumed.units_skipped >= 1 and resumed.units_run >= 1
    assert _pairs(Workspace(workdir)) == _pairs(Workspace(tmp_path / "ref"))
    assert resumed.pairs == reference.pairs


def test_bad_urls_in_a_wat_are_counted(tmp_path):
    html = b'<img src="http://[bad/x.jpg" alt="a red star"><img src="/ok.jpg" alt="a blue star">'
    wat = tmp_path / "x.wat"
    write_wat(wat, [("http://h.test/p", wat_envelope("http://h.test/p", html))], compress=False)
    summary = scrape(Workspace(tmp_path / "w"), [str(wat)], QUIET)
    assert summary.dropped == {"bad_url": 1} and summary.pairs == 1


class _RedirectingSite(http.server.BaseHTTPRequestHandler):
    """/a redirects to /dir/, whose page has a relative image."""

    def do_GET(self):
        if self.path == "/a":
            self.send_response(302)
            self.send_header("Location", "/dir/")
            self.end_headers()
            return
        body = b'<img src="cat.jpg" alt="a grey cat">' if self.path == "/dir/" else b""
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_crawl_resolves_against_the_page_after_redirects(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RedirectingSite)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        origin = f"http://127.0.0.1:{server.server_address[1]}"
        crawl = CrawlOptions(allow_private_networks=True)
        scrape(Workspace(tmp_path), [origin + "/a"], ScrapeOptions(progress=False, crawl=crawl))
    finally:
        server.shutdown()
    (pair,) = _pairs(Workspace(tmp_path))
    assert (pair["url"], pair["page_url"]) == (origin + "/dir/cat.jpg", origin + "/dir/")


def test_symlink_out_of_the_folder_does_not_fail_the_group(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "a.html").write_text('<img src="a.jpg" alt="a red star">')
    (tmp_path / "outside.html").write_text('<img src="https://x.test/o.jpg" alt="a blue star">')
    (site / "linked.html").symlink_to(tmp_path / "outside.html")
    summary = scrape(
        Workspace(tmp_path / "w"),
        [str(site)],
        ScrapeOptions(progress=False, base_url="http://127.0.0.1:9/"),
    )
    assert summary.pairs == 2

"""Scrape throughput against its anchor, in one run on the same WARC input.

Anchor: a plain extraction with warcio + BeautifulSoup (html.parser), as ad-hoc scripts do it:
every <img> with a non-empty alt, URL resolved against the page. Ours: the scrape stage's own
path (FastWARC + lexbor + caption rules + language id), then the whole stage including the
parquet output and the DuckDB dedupe merge.

    python benchmarks/scrape_bench.py [--pages 2000] [--repeat 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urljoin

from bench_rows import command_line, machine_summary, result_row, write_rows

from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.scrape import ScrapeOptions, scrape
from wit_pipeline.stages.scrape.archives import iter_warc_pages
from wit_pipeline.stages.scrape.captions import CaptionRules
from wit_pipeline.stages.scrape.stage import _page_pairs
from wit_pipeline.testweb.archives import write_warc

REAL_WARC = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "whirlwind.warc.gz"


def build_input(directory: Path, pages: int) -> Path:
    """A WARC of `pages` copies of the real Common Crawl page, each under its own URL."""
    (page,) = list(iter_warc_pages(REAL_WARC, Counter(), 10_000_000))
    html = page.html.encode()
    path = directory / "bench.warc.gz"
    write_warc(path, ((f"https://an.wikipedia.org/wiki/Page_{i}", html) for i in range(pages)))
    return path


def anchor(path: Path) -> tuple[int, int]:
    """warcio + BeautifulSoup: (pages, pairs)."""
    from bs4 import BeautifulSoup
    from warcio.archiveiterator import ArchiveIterator

    pages = pairs = 0
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle):
            if record.rec_type != "response":
                continue
            content_type = record.http_headers.get_header("Content-Type") or ""
            if "html" not in content_type:
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            soup = BeautifulSoup(record.content_stream().read(), "html.parser")
            pages += 1
            for img in soup.find_all("img"):
                if img.get("src") and (img.get("alt") or "").strip():
                    urljoin(url, img["src"])
                    pairs += 1
    return pages, pairs


def ours_extraction(path: Path) -> tuple[int, int]:
    """The stage's per-page path without output: (pages, pairs)."""
    counts: Counter = Counter()
    rules = CaptionRules()
    pairs = 0
    for page in iter_warc_pages(path, counts, 5_000_000):
        pairs += sum(1 for _ in _page_pairs(page, str(path), rules, counts))
    return counts["pages"], pairs


def ours_stage(path: Path) -> tuple[int, int]:
    """The whole scrape stage, one process: (pages, pairs before the dedupe merge)."""
    with tempfile.TemporaryDirectory() as workdir:
        summary = scrape(Workspace(Path(workdir)), [str(path)], ScrapeOptions(progress=False))
    return summary.counts["pages"], summary.pairs_before_dedupe


def best_of(fn, path: Path, repeat: int) -> tuple[float, int, int]:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        pages, pairs = fn(path)
        best = min(best, time.perf_counter() - start)
    return best, pages, pairs


def _img_attrs_lexbor(html: bytes) -> int:
    from selectolax.lexbor import LexborHTMLParser

    return sum(1 for n in LexborHTMLParser(html).css("img") if n.attributes.get("alt"))


def _img_attrs_lxml(html: bytes) -> int:
    import lxml.html

    return sum(1 for n in lxml.html.fromstring(html).iter("img") if n.get("alt"))


def _img_attrs_resiliparse(html: bytes) -> int:
    from resiliparse.parse.html import HTMLTree

    nodes = HTMLTree.parse_from_bytes(html).body.query_selector_all("img")
    return sum(1 for n in nodes if n.getattr("alt"))


def _img_attrs_bs4(html: bytes) -> int:
    from bs4 import BeautifulSoup

    return sum(1 for n in BeautifulSoup(html, "html.parser").find_all("img") if n.get("alt"))


def reader_table(path: Path, repeat: int) -> dict[str, float]:
    """Seconds to read every response body of the bench WARC with FastWARC and with warcio."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType
    from warcio.archiveiterator import ArchiveIterator as WarcioIterator

    def fastwarc() -> None:
        with open(path, "rb") as handle:
            for record in ArchiveIterator(handle, record_types=WarcRecordType.response):
                record.reader.read()

    def warcio() -> None:
        with open(path, "rb") as handle:
            for record in WarcioIterator(handle):
                if record.rec_type == "response":
                    record.content_stream().read()

    times = {}
    for name, fn in [("FastWARC", fastwarc), ("warcio", warcio)]:
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
        times[name] = best
    print(
        f"WARC reading: FastWARC {times['FastWARC']:.2f} s, warcio {times['warcio']:.2f} s "
        f"({times['warcio'] / times['FastWARC']:.1f}x)"
    )
    return times


def parser_table(repeat: int = 50) -> dict[str, float]:
    """Milliseconds to parse the real page and read its <img alt> with each candidate parser
    (lxml and resiliparse are optional: `pip install lxml resiliparse` to include them)."""
    (page,) = list(iter_warc_pages(REAL_WARC, Counter(), 10_000_000))
    html = page.html.encode()
    print(f"parser choice: ms to parse the {len(html) // 1024} KB page and read its <img alt>")
    times = {}
    for name, fn in [
        ("lexbor (selectolax)", _img_attrs_lexbor),
        ("lxml", _img_attrs_lxml),
        ("resiliparse", _img_attrs_resiliparse),
        ("BeautifulSoup", _img_attrs_bs4),
    ]:
        try:
            fn(html)
        except ImportError:
            print(f"  {name:22} not installed")
            continue
        start = time.perf_counter()
        for _ in range(repeat):
            fn(html)
        times[name] = (time.perf_counter() - start) / repeat * 1000
        print(f"  {name:22} {times[name]:6.2f} ms")
    return times


def json_rows(
    rows: list[tuple[str, float, int, int]], readers: dict[str, float], parsers: dict[str, float]
) -> list[dict]:
    """The comparisons as JSON rows: each of ours against warcio + BeautifulSoup."""
    anchor_name, anchor_seconds, anchor_pages, anchor_pairs = rows[0]
    found = [
        result_row(
            "scrape",
            f"pages/s, {name.removeprefix('ours: ')}",
            round(pages / seconds, 1),
            anchor_name.removeprefix("anchor: "),
            round(anchor_pages / anchor_seconds, 1),
            "pages/s",
            pairs_per_page=round(pairs / pages, 2),
            anchor_pairs_per_page=round(anchor_pairs / anchor_pages, 2),
        )
        for name, seconds, pages, pairs in rows[1:]
    ]
    found.append(
        result_row(
            "scrape",
            "WARC reading: every response body (FastWARC)",
            round(readers["FastWARC"], 3),
            "warcio",
            round(readers["warcio"], 3),
            "s",
            higher_is_better=False,
        )
    )
    found.append(
        result_row(
            "scrape",
            "parse the real page and read its `<img alt>` (lexbor)",
            round(parsers["lexbor (selectolax)"], 2),
            "BeautifulSoup (html.parser)",
            round(parsers["BeautifulSoup"], 2),
            "ms",
            higher_is_better=False,
        )
    )
    return found


def main(argv: list[str] | None = None) -> int:
    """Build the WARC, time the anchor and ours (best of the repeats), print (and write) them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", metavar="PATH", help="write the result rows to this JSON file")
    args = parser.parse_args(argv)
    if not REAL_WARC.is_file():
        print(f"needs {REAL_WARC}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        path = build_input(Path(tmp), args.pages)
        readers = reader_table(path, args.repeat)
        rows = [
            (name, *best_of(fn, path, args.repeat))
            for name, fn in [
                ("anchor: warcio + BeautifulSoup", anchor),
                ("ours: extraction + rules + lang", ours_extraction),
                ("ours: whole stage (parquet + dedupe)", ours_stage),
            ]
        ]
    anchor_seconds = rows[0][1]
    print(
        f"machine: {machine_summary()}; "
        f"input: {args.pages} copies of the real Common Crawl page, best of {args.repeat}"
    )
    print(f"{'':38} {'pages/s':>9} {'pairs/s':>9} {'pairs':>7} {'vs anchor':>10}")
    for name, seconds, pages, pairs in rows:
        print(
            f"{name:38} {pages / seconds:9,.0f} {pairs / seconds:9,.0f} {pairs:7,} "
            f"{anchor_seconds / seconds:9.1f}x"
        )
    parsers = parser_table()
    if args.json:
        command = command_line("scrape_bench.py", argv)
        write_rows(args.json, json_rows(rows, readers, parsers), command)
    return 0


if __name__ == "__main__":
    sys.exit(main())

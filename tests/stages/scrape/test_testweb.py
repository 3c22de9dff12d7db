"""Scrape end to end against the local test web: a polite crawl over HTTP, the same pages packed
into a WARC and a Common Crawl style WAT, each checked against the ground truth."""

import urllib.request

import pyarrow.parquet as pq
import pytest

from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.scrape import CrawlOptions, ScrapeOptions, scrape
from wit_pipeline.testweb.archives import wat_envelope, write_warc, write_wat

FAST_CRAWL = CrawlOptions(
    max_depth=3, requests_per_second=1000, timeout=5, allow_private_networks=True
)


def _pairs(workspace):
    return [
        row
        for f in sorted(workspace.pairs_dir.glob("part-*.parquet"))
        for row in pq.read_table(f).to_pylist()
    ]


def _triples(pairs):
    return {(p["url"], p["caption"], p["caption_source"]) for p in pairs}


@pytest.fixture(scope="module")
def expected(testweb_truth):
    """Every content image with a real caption: (url, decoded page caption, caption source)."""
    return {
        (r["url"], r["page_caption"], r["caption_source"])
        for r in testweb_truth
        if r["page_url"] is not None and r["boilerplate"] == "none"
    }


@pytest.fixture(scope="module")
def crawled(testweb, tmp_path_factory):
    workspace = Workspace(tmp_path_factory.mktemp("crawl"))
    options = ScrapeOptions(crawl=FAST_CRAWL, progress=False)
    summary = scrape(workspace, [testweb.base_url + "index.html"], options)
    return summary, _pairs(workspace)


@pytest.fixture(scope="module")
def pages(testweb, testweb_truth):
    """(url, html bytes) of every content page, fetched over HTTP."""
    urls = sorted({r["page_url"] for r in testweb_truth if r["page_url"]})
    return [(url, urllib.request.urlopen(url, timeout=5).read()) for url in urls]


def test_crawl_yields_exactly_the_captioned_images(crawled, expected):
    pairs = crawled[1]
    assert _triples(pairs) == expected
    assert all(p["source"].endswith("/index.html") and p["lang"] for p in pairs)


def test_crawl_covers_every_url_form_and_markup(crawled, testweb_truth):
    got = {p["url"] for p in crawled[1]}
    forms = {(r["url_form"], r["markup"]) for r in testweb_truth if r["url"] in got}
    assert {f for f, _ in forms} >= {
        "root_relative",
        "relative",
        "base_href",
        "absolute",
        "protocol_relative",
    }
    assert {m for _, m in forms} >= {"img_alt", "figure", "srcset", "data_src", "in_link", "title"}


def test_crawl_drops_and_counts_boilerplate(crawled, testweb_truth):
    summary, pairs = crawled
    boilerplate_urls = {r["url"] for r in testweb_truth if r["boilerplate"] != "none"}
    assert not boilerplate_urls & {p["url"] for p in pairs}
    dropped = summary.dropped
    assert dropped["boilerplate"] >= summary.counts["pages"]  # the logo on every page
    assert dropped["filename_like"] >= 1 and dropped["empty_caption"] >= summary.counts["pages"]
    assert (
        summary.counts["pages"] == len({r["page_url"] for r in testweb_truth if r["page_url"]}) + 2
    )


def test_entities_are_decoded_in_captions(crawled):
    captions = [p["caption"] for p in crawled[1]]
    assert not any("&amp;" in c or "&#" in c for c in captions)
    assert any(not c.isascii() for c in captions)


def test_warc_of_the_same_pages_gives_the_same_pairs(pages, crawled, tmp_path):
    warc = tmp_path / "site.warc.gz"
    write_warc(warc, pages)
    workspace = Workspace(tmp_path / "w")
    scrape(workspace, [str(warc)], ScrapeOptions(progress=False))
    assert _triples(_pairs(workspace)) == _triples(crawled[1])


def test_wat_of_the_same_pages_gives_the_alt_pairs(pages, crawled, testweb_truth, tmp_path):
    wat = tmp_path / "site.warc.wat.gz"
    write_wat(wat, [(url, wat_envelope(url, html)) for url, html in pages])
    workspace = Workspace(tmp_path / "w")
    scrape(workspace, [str(wat)], ScrapeOptions(progress=False))
    markup = {r["url"]: r["markup"] for r in testweb_truth}
    # a WAT keeps only IMG@/src with its alt: srcset-only and lazy images are invisible to it
    expected = {
        (u, c)
        for u, c, s in _triples(crawled[1])
        if s == "alt" and markup[u] not in ("srcset", "data_src")
    }
    got = {(p["url"], p["caption"]) for p in _pairs(workspace)}
    assert {(u, c) for u, c in got if not u.endswith("/static/spacer.gif")} == expected


def test_crawl_respects_robots_and_page_limits(testweb, tmp_path):
    options = ScrapeOptions(
        crawl=CrawlOptions(
            max_depth=3, max_pages=2, requests_per_second=1000, allow_private_networks=True
        ),
        progress=False,
    )
    summary = scrape(Workspace(tmp_path), [testweb.base_url + "index.html"], options)
    assert summary.counts["pages"] == 2
    blocked = scrape(
        Workspace(tmp_path / "b"),
        [testweb.base_url + "private/page.html"],
        ScrapeOptions(crawl=FAST_CRAWL, progress=False),
    )
    assert blocked.counts.get("robots_disallowed") == 1 and blocked.counts.get("pages", 0) == 0

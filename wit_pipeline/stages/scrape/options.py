"""What a user sets for `scrape`: its flags on the command line, its keys in a run config."""

from __future__ import annotations

import os
from dataclasses import dataclass

from wit_pipeline.core.options import (
    StageOptions,
    non_negative_int,
    option,
    positive_float,
    positive_int,
    seconds,
)

RULES = "caption rules"
CRAWL = "crawling http(s) sources"


@dataclass(frozen=True)
class Options(StageOptions):
    """The scrape stage's options (see ScrapeOptions for the run's structured settings)."""

    sources: list[str] = option(
        help=".html/.htm files or folders, .warc[.gz], .wat[.gz], or http(s):// seed URLs",
        positional=True,
        many=True,
        metavar="SOURCE",
    )
    min_chars: int = option(
        5, "drop captions shorter than this (default: 5)", type=non_negative_int, group=RULES
    )
    min_words: int = option(
        2, "drop captions with fewer words (default: 2)", type=non_negative_int, group=RULES
    )
    max_chars: int = option(
        1000, "drop captions longer than this (default: 1000)", type=positive_int, group=RULES
    )
    keep_boilerplate: bool = option(
        False, "keep alts like 'logo', 'spacer' or 'IMG_0042.JPG'", group=RULES
    )
    lang: str | None = option(
        None,
        "keep only these caption languages, e.g. 'en' or 'en,de'",
        metavar="CODES",
        group=RULES,
    )
    dedupe_url: bool = option(
        False, "keep one caption per image URL (default: one per url+caption)", group=RULES
    )
    max_depth: int = option(
        2, "link depth from the seed (default: 2)", type=non_negative_int, group=CRAWL
    )
    max_pages: int = option(1000, "pages per seed (default: 1000)", type=positive_int, group=CRAWL)
    rate: float = option(
        2.0, "requests per second per host (default: 2)", type=positive_float, group=CRAWL
    )
    any_host: bool = option(False, "follow links to other hosts", group=CRAWL)
    ignore_robots: bool = option(False, "do not read robots.txt", group=CRAWL)
    allow_private_networks: bool = option(
        False, "crawl loopback and private addresses (test webs, intranets)", group=CRAWL
    )
    timeout: float = option(10.0, "seconds per request (default: 10)", type=seconds, group=CRAWL)
    base_url: str | None = option(
        None, "URL of local HTML folders, so relative image links resolve", metavar="URL"
    )
    max_page_bytes: int = option(
        5_000_000, "pages longer than this are cut (default: 5000000)", type=positive_int
    )
    rows_per_part: int = option(
        1_000_000, "rows per pairs/part-*.parquet (default: 1000000)", type=positive_int
    )
    processes: int = option(
        os.cpu_count() or 1,
        "parallel source files (default: all cores)",
        type=positive_int,
        runtime=True,
    )

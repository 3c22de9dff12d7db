"""`wit-pipeline scrape`: (image URL, caption) pairs from pages, WARC/WAT files and sites."""

from __future__ import annotations

import argparse
import os

from wit_pipeline.commands.common import (
    add_command,
    non_negative_int,
    positive_float,
    positive_int,
    stage_handler,
)
from wit_pipeline.core.executor import Engine
from wit_pipeline.core.workspace import Workspace

NAME = "scrape"
HELP = "find (image URL, caption) pairs in pages, WARC/WAT files and sites"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The stage's options: flags on the command line, keys of its section in a run config."""
    parser.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help=".html/.htm files or folders, .warc[.gz], .wat[.gz], or http(s):// seed URLs",
    )
    rules = parser.add_argument_group("caption rules")
    rules.add_argument(
        "--min-chars",
        type=non_negative_int,
        default=5,
        help="drop captions shorter than this (default: 5)",
    )
    rules.add_argument(
        "--min-words",
        type=non_negative_int,
        default=2,
        help="drop captions with fewer words (default: 2)",
    )
    rules.add_argument(
        "--max-chars",
        type=positive_int,
        default=1000,
        help="drop captions longer than this (default: 1000)",
    )
    rules.add_argument(
        "--keep-boilerplate",
        action="store_true",
        help="keep alts like 'logo', 'spacer' or 'IMG_0042.JPG'",
    )
    rules.add_argument(
        "--lang", metavar="CODES", help="keep only these caption languages, e.g. 'en' or 'en,de'"
    )
    rules.add_argument(
        "--dedupe-url",
        action="store_true",
        help="keep one caption per image URL (default: one per url+caption)",
    )
    crawl = parser.add_argument_group("crawling http(s) sources")
    crawl.add_argument(
        "--max-depth",
        type=non_negative_int,
        default=2,
        help="link depth from the seed (default: 2)",
    )
    crawl.add_argument(
        "--max-pages", type=positive_int, default=1000, help="pages per seed (default: 1000)"
    )
    crawl.add_argument(
        "--rate",
        type=positive_float,
        default=2.0,
        help="requests per second per host (default: 2)",
    )
    crawl.add_argument("--any-host", action="store_true", help="follow links to other hosts")
    crawl.add_argument("--ignore-robots", action="store_true", help="do not read robots.txt")
    crawl.add_argument(
        "--allow-private-networks",
        action="store_true",
        help="crawl loopback and private addresses (test webs, intranets)",
    )
    crawl.add_argument(
        "--timeout", type=positive_float, default=10.0, help="seconds per request (default: 10)"
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="URL of local HTML folders, so relative image links resolve",
    )
    parser.add_argument(
        "--max-page-bytes",
        type=positive_int,
        default=5_000_000,
        help="pages longer than this are cut (default: 5000000)",
    )
    parser.add_argument(
        "--rows-per-part",
        type=positive_int,
        default=1_000_000,
        help="rows per pairs/part-*.parquet (default: 1000000)",
    )
    parser.add_argument(
        "--processes",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="parallel source files (default: all cores)",
    )


def run_stage(workspace: Workspace, args: argparse.Namespace, engine: Engine):
    """Scrape (image URL, caption) pairs from pages, WARC/WAT files and crawled sites."""
    from wit_pipeline.stages.scrape import CaptionRules, CrawlOptions, ScrapeOptions, scrape

    langs = frozenset(x.strip() for x in args.lang.split(",") if x.strip()) if args.lang else None
    options = ScrapeOptions(
        rules=CaptionRules(
            min_chars=args.min_chars,
            min_words=args.min_words,
            max_chars=args.max_chars,
            drop_boilerplate=not args.keep_boilerplate,
            langs=langs,
        ),
        crawl=CrawlOptions(
            max_depth=args.max_depth,
            max_pages=args.max_pages,
            requests_per_second=args.rate,
            same_host=not args.any_host,
            respect_robots=not args.ignore_robots,
            timeout=args.timeout,
            max_page_bytes=args.max_page_bytes,
            allow_private_networks=args.allow_private_networks,
        ),
        base_url=args.base_url,
        dedupe_url=args.dedupe_url,
        max_page_bytes=args.max_page_bytes,
        rows_per_part=args.rows_per_part,
        processes=args.processes,
        progress=not args.quiet,
        engine=engine,
    )
    return scrape(workspace, args.sources, options)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the command to the top-level parser."""
    add_arguments(add_command(sub, NAME, HELP, stage_handler(run_stage)))

"""The one command line face of wit-pipeline: parse, call a stage, print, set the exit code.

Exit codes: 0 done, 1 the work failed, 2 usage or input error (one line on stderr), 130
interrupted. No logic lives here that a DAG task or another engine would need.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from wit_pipeline import __version__
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.executor import Engine
from wit_pipeline.core.logs import configure_logging, verbosity_level
from wit_pipeline.core.schemas import TABLES, load_schema
from wit_pipeline.core.status import format_status, status_as_dicts, workspace_status
from wit_pipeline.core.validate import validate_input
from wit_pipeline.core.workspace import Workspace

PROG = "wit-pipeline"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
log = logging.getLogger("wit_pipeline")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Global options, accepted before or after the sub-command."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--workdir",
        metavar="DIR",
        default=default,
        help="workspace folder (default: $WIT_WORKDIR or ./wit-data)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="more detail (repeat for debug output)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="only errors; no progress bars",
    )


def _subparser(
    sub: argparse._SubParsersAction,
    name: str,
    help_text: str,
    handler: Callable[[argparse.Namespace], int],
) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text)
    _add_global_options(parser, suppress=True)
    parser.set_defaults(handler=handler)
    return parser


def cmd_status(args: argparse.Namespace) -> int:
    """Print what each stage folder of the workspace holds."""
    workspace = Workspace.at(args.workdir)
    statuses = workspace_status(workspace)
    if args.json:
        print(
            json.dumps(
                {
                    "workspace": str(workspace.root),
                    "exists": workspace.exists(),
                    "stages": status_as_dicts(statuses),
                },
                indent=2,
            )
        )
    else:
        print(format_status(workspace, statuses))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    """Check input files against a table contract; print every problem, one per line."""
    schema = load_schema(args.table)
    required = args.require.split(",") if args.require else None
    reports = validate_input(Path(args.path), schema, required)
    problems = [p for r in reports for p in r.problems]
    for problem in problems:
        print(problem, file=sys.stderr)
    rows = sum(r.rows for r in reports)
    verdict = "invalid" if problems else "valid"
    if not args.quiet:
        print(
            f"{args.path}: {verdict} as '{args.table}': {len(reports)} files, {rows:,} rows, "
            f"{len(problems)} problems"
        )
    return EXIT_USAGE if problems else EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    """Print a table contract: columns, Arrow types, nullability, meaning."""
    schema = load_schema(args.table)
    print(f"{schema.name}: {schema.description}")
    for f in schema.fields:
        flags = ("required " if f.required else "") + ("nullable" if f.nullable else "not null")
        print(f"  {f.name:<16} {f.type!s:<14} {flags:<18} {f.description}")
    return EXIT_OK


def cmd_scrape(args: argparse.Namespace) -> int:
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
        ),
        base_url=args.base_url,
        dedupe_url=args.dedupe_url,
        max_page_bytes=args.max_page_bytes,
        rows_per_part=args.rows_per_part,
        processes=args.processes,
        progress=not args.quiet,
    )
    summary = scrape(Workspace.at(args.workdir), args.sources, options)
    if not args.quiet:
        print(summary.line())
    return EXIT_OK


def cmd_download(args: argparse.Namespace) -> int:
    """Download the images of a URL list (or of the workspace's pairs) into raw/."""
    from wit_pipeline.stages.download import (
        DownloadOptions,
        FetchOptions,
        InputSpec,
        ResizeOptions,
        download,
    )

    if args.ray_address and args.distributor != "ray":
        raise InputError("--ray-address needs --distributor ray")
    workspace = Workspace.at(args.workdir)
    source = Path(args.input) if args.input else workspace.pairs_dir
    spec = InputSpec(
        path=source,
        url_col=args.url_col,
        caption_col=args.caption_col or None,
        samples_per_shard=args.samples_per_shard,
        extra_columns=tuple(c for c in (args.save_additional_columns or "").split(",") if c),
    )
    options = DownloadOptions(
        fetch=FetchOptions(
            timeout=args.timeout,
            retries=args.retries,
            max_bytes=args.max_bytes,
            max_redirects=args.max_redirects,
            max_per_host=args.max_per_host,
            respect_robots=not args.ignore_robots,
            respect_x_robots_tag=not args.ignore_x_robots_tag,
            allow_private_networks=args.allow_private_networks,
        ),
        resize=ResizeOptions(
            image_size=args.image_size,
            resize_mode=args.resize_mode,
            resize_only_if_bigger=args.resize_only_if_bigger,
            encode_format=args.encode_format,
            encode_quality=args.encode_quality,
            min_image_size=args.min_image_size,
            max_aspect_ratio=args.max_aspect_ratio,
            max_pixels=args.max_pixels,
        ),
        processes=args.processes,
        threads=args.threads,
        overwrite=args.overwrite,
        retry_failed=args.retry_failed,
        progress=not args.quiet,
        engine=Engine("ray" if args.distributor == "ray" else "local", args.ray_address),
    )
    summary = download(workspace, spec, options)
    if not args.quiet:
        print(summary.line())
    return EXIT_OK


def cmd_filter(args: argparse.Namespace) -> int:
    """Score every raw sample (cached), then decide keep or drop with reasons."""
    from wit_pipeline.scoring.clip import ClipSpec
    from wit_pipeline.stages.filter import DecideOptions, ScoreOptions, filter_stage
    from wit_pipeline.stages.filter.decontaminate import load_eval_sets

    if args.min_clip_score is not None and args.keep_fraction is not None:
        raise InputError("give --min-clip-score or --keep-fraction, not both")
    if args.min_clip_score is not None and not -1.0 <= args.min_clip_score <= 1.0:
        raise InputError(f"--min-clip-score {args.min_clip_score}: a cosine is in [-1, 1]")
    if args.keep_fraction is not None and not 0.0 < args.keep_fraction <= 1.0:
        raise InputError(f"--keep-fraction {args.keep_fraction}: must be in (0, 1]")
    if args.score_only and (args.decide_only or args.dry_run):
        raise InputError("--score-only cannot go with --decide-only or --dry-run")
    workspace = Workspace.at(args.workdir)
    clip = None if args.clip_model == "none" else ClipSpec(args.clip_model, args.pretrained)
    score_options = (
        None
        if args.decide_only
        else ScoreOptions(
            clip=clip,
            device=args.device,
            batch_size=args.batch_size,
            workers=args.workers,
            processes=args.processes,
            save_embeddings=args.save_embeddings,
            progress=not args.quiet,
        )
    )
    decide_options = (
        None
        if args.score_only
        else DecideOptions(
            min_clip_score=args.min_clip_score,
            keep_fraction=args.keep_fraction,
            min_image_size=args.min_image_size,
            max_aspect_ratio=args.max_aspect_ratio,
            min_caption_words=args.min_caption_words,
            langs=frozenset(x.strip() for x in args.lang.split(",")) if args.lang else None,
            dedupe_distance=args.dedupe_distance,
            eval_sets=load_eval_sets(Path(args.decontaminate)) if args.decontaminate else (),
        )
    )
    summary = filter_stage(workspace, score_options, decide_options, dry_run=args.dry_run)
    if not args.quiet or args.dry_run:
        print(summary.line())
    return EXIT_OK


def cmd_shard(args: argparse.Namespace) -> int:
    """Write the kept samples as shuffled WebDataset shards with sizes.json and a manifest."""
    from wit_pipeline.stages.shard import write_shards

    summary = write_shards(
        Workspace.at(args.workdir),
        samples_per_shard=args.samples_per_shard,
        seed=args.seed,
        out=args.out,
        processes=args.processes,
        progress=not args.quiet,
    )
    if not args.quiet:
        print(summary.line())
    return EXIT_OK


def cmd_verify_shards(args: argparse.Namespace) -> int:
    """Check shards: tar integrity, counts, keys; inside a workspace, the kept samples."""
    from wit_pipeline.stages.shard import verify_shards

    path = Path(args.path)
    if not path.is_dir():
        raise InputError(f"{path}: not a folder of shards")
    inside = Workspace(path.parent)
    problems = verify_shards(path, inside if inside.decisions_path.is_file() else None)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not args.quiet:
        verdict = "ok" if not problems else f"{len(problems)} problems"
        print(f"{path}: {verdict}")
    return EXIT_FAILED if problems else EXIT_OK


def cmd_testweb_build(args: argparse.Namespace) -> int:
    """Write the synthetic test web as static files plus its ground truth."""
    from wit_pipeline.testweb import SyntheticWeb, WebConfig

    web = SyntheticWeb(WebConfig(seed=args.seed, pages=args.pages))
    summary = web.write(Path(args.directory), args.base_url.rstrip("/"))
    if not args.quiet:
        print(web.describe())
        print(f"wrote {summary['urls']:,} URLs on {args.pages} pages to {args.directory}")
    return EXIT_OK


def cmd_testweb_serve(args: argparse.Namespace) -> int:
    """Serve the synthetic test web on 127.0.0.1 until interrupted or --duration ends."""
    from wit_pipeline.testweb import SyntheticWeb, WebConfig, WebServer

    web = SyntheticWeb(WebConfig(seed=args.seed, pages=args.pages))
    with WebServer(web, port=args.port) as server:
        print(server.base_url, flush=True)
        if not args.quiet:
            print(web.describe(), flush=True)
        if args.check:
            from wit_pipeline.testweb.selfcheck import check_served

            result = check_served(web, server.origin)
            print(result.summary_line(), flush=True)
            if not result.ok:
                for problem in result.problems:
                    print(problem, file=sys.stderr)
                return EXIT_FAILED
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic())))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used by tests and docs)."""
    parser = _Parser(
        prog=PROG,
        description="Build web image-text datasets: scrape, download, filter, shard, train.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    status = _subparser(sub, "status", "show what each stage of the workspace holds", cmd_status)
    status.add_argument("--json", action="store_true", help="machine-readable output")

    validate = _subparser(
        sub, "validate", "check an input file or folder against a table contract", cmd_validate
    )
    validate.add_argument("path", help="a .parquet, .csv, .tsv or .jsonl file, or a folder")
    validate.add_argument(
        "--table",
        choices=TABLES,
        default="pairs",
        help="contract to check against (default: pairs)",
    )
    validate.add_argument(
        "--require",
        metavar="COLS",
        help="comma-separated columns that must exist (default: the contract's)",
    )

    schema = _subparser(sub, "schema", "print a table contract", cmd_schema)
    schema.add_argument("table", choices=TABLES)

    _add_scrape_parser(sub)
    _add_download_parser(sub)
    _add_filter_parser(sub)
    shard = _subparser(
        sub, "shard", "write the kept samples as shuffled WebDataset shards", cmd_shard
    )
    shard.add_argument(
        "--samples-per-shard",
        type=_positive_int,
        default=10_000,
        help="samples per shard; every shard is full but the last (default: 10000)",
    )
    shard.add_argument("--seed", type=int, default=0, help="shuffle seed (default: 0)")
    shard.add_argument("--out", metavar="PATH", help="output folder (default: W/shards)")
    shard.add_argument(
        "--processes", type=_positive_int, default=1, help="shards written at once (default: 1)"
    )
    verify = _subparser(
        sub,
        "verify-shards",
        "check a folder of shards (and, inside a "
        "workspace, that it holds exactly the kept samples)",
        cmd_verify_shards,
    )
    verify.add_argument("path", help="the shards folder")

    testweb = sub.add_parser(
        "testweb",
        help="the deterministic synthetic web for demos and tests",
        description="The deterministic synthetic web for demos and tests.",
    )
    testweb_sub = testweb.add_subparsers(
        dest="testweb_command", metavar="ACTION", parser_class=_Parser
    )
    testweb_sub.required = True
    for action in ("serve", "build"):
        handler = cmd_testweb_serve if action == "serve" else cmd_testweb_build
        help_text = (
            "serve the test web on 127.0.0.1 and print its base URL"
            if action == "serve"
            else "write the static site and ground truth to a folder"
        )
        p = _subparser(testweb_sub, action, help_text, handler)
        p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
        p.add_argument(
            "--pages", type=_positive_int, default=20, help="number of content pages (default: 20)"
        )
        if action == "serve":
            p.add_argument("--port", type=_port, default=0, help="port (default: a free one)")
            p.add_argument(
                "--duration",
                type=float,
                metavar="SECONDS",
                help="stop after this many seconds (default: until Ctrl-C)",
            )
            p.add_argument(
                "--check",
                action="store_true",
                help="fetch every URL over HTTP and compare with the ground truth",
            )
        else:
            p.add_argument("directory", help="output folder")
            p.add_argument(
                "--base-url",
                default="http://127.0.0.1:8000",
                help="origin written into absolute links (default: %(default)s)",
            )
    return parser


def _add_scrape_parser(sub: argparse._SubParsersAction) -> None:
    scrape = _subparser(
        sub,
        "scrape",
        "find (image URL, caption) pairs in pages, WARC/WAT files and sites",
        cmd_scrape,
    )
    scrape.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help=".html/.htm files or folders, .warc[.gz], .wat[.gz], or http(s):// seed URLs",
    )
    rules = scrape.add_argument_group("caption rules")
    rules.add_argument(
        "--min-chars",
        type=_non_negative_int,
        default=5,
        help="drop captions shorter than this (default: 5)",
    )
    rules.add_argument(
        "--min-words",
        type=_non_negative_int,
        default=2,
        help="drop captions with fewer words (default: 2)",
    )
    rules.add_argument(
        "--max-chars",
        type=_positive_int,
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
    crawl = scrape.add_argument_group("crawling http(s) sources")
    crawl.add_argument(
        "--max-depth",
        type=_non_negative_int,
        default=2,
        help="link depth from the seed (default: 2)",
    )
    crawl.add_argument(
        "--max-pages", type=_positive_int, default=1000, help="pages per seed (default: 1000)"
    )
    crawl.add_argument(
        "--rate",
        type=_positive_float,
        default=2.0,
        help="requests per second per host (default: 2)",
    )
    crawl.add_argument("--any-host", action="store_true", help="follow links to other hosts")
    crawl.add_argument("--ignore-robots", action="store_true", help="do not read robots.txt")
    crawl.add_argument(
        "--timeout", type=_positive_float, default=10.0, help="seconds per request (default: 10)"
    )
    scrape.add_argument(
        "--base-url",
        metavar="URL",
        help="URL of local HTML folders, so relative image links resolve",
    )
    scrape.add_argument(
        "--max-page-bytes",
        type=_positive_int,
        default=5_000_000,
        help="pages longer than this are cut (default: 5000000)",
    )
    scrape.add_argument(
        "--rows-per-part",
        type=_positive_int,
        default=1_000_000,
        help="rows per pairs/part-*.parquet (default: 1000000)",
    )
    scrape.add_argument(
        "--processes",
        type=_positive_int,
        default=os.cpu_count() or 1,
        help="parallel source files (default: all cores)",
    )


def _add_download_parser(sub: argparse._SubParsersAction) -> None:
    dl = _subparser(
        sub,
        "download",
        "download and resize images into raw/ (img2dataset's layout)",
        cmd_download,
    )
    dl.add_argument(
        "input",
        nargs="?",
        metavar="INPUT",
        help="parquet, CSV or JSONL file or folder (default: the workspace's pairs/)",
    )
    dl.add_argument("--url-col", default="url", help="column with the image URL (default: url)")
    dl.add_argument(
        "--caption-col",
        default="caption",
        help="column with the caption; '' for none (default: caption)",
    )
    dl.add_argument(
        "--save-additional-columns",
        metavar="COLS",
        help="comma-separated input columns to keep in the output",
    )
    dl.add_argument(
        "--samples-per-shard",
        type=_positive_int,
        default=10_000,
        help="input rows per raw shard (default: 10000)",
    )
    dl.add_argument(
        "--processes",
        type=_positive_int,
        default=os.cpu_count() or 1,
        help="shards downloaded at once (default: all cores)",
    )
    dl.add_argument(
        "--threads",
        type=_positive_int,
        default=64,
        help="concurrent fetches per process (default: 64)",
    )
    dl.add_argument(
        "--distributor",
        choices=["multiprocessing", "ray"],
        default="multiprocessing",
        help="how shards are spread: a local process pool, or Ray tasks (default: multiprocessing)",
    )
    dl.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="with --distributor ray: a cluster to join ('auto' for a running one; default: "
        "start a local Ray for this run)",
    )
    size = dl.add_argument_group("resizing (img2dataset's Resizer)")
    size.add_argument("--image-size", type=_positive_int, default=256, help="(default: 256)")
    size.add_argument(
        "--resize-mode",
        default="border",
        choices=["no", "border", "keep_ratio", "keep_ratio_largest", "center_crop"],
        help="(default: border)",
    )
    size.add_argument(
        "--resize-only-if-bigger", action="store_true", help="never upscale small images"
    )
    size.add_argument(
        "--encode-format", choices=["jpg", "png", "webp"], default="jpg", help="(default: jpg)"
    )
    size.add_argument("--encode-quality", type=_non_negative_int, default=95, help="(default: 95)")
    size.add_argument(
        "--min-image-size",
        type=_non_negative_int,
        default=0,
        help="drop images whose smaller side is below this (default: 0)",
    )
    size.add_argument(
        "--max-aspect-ratio",
        type=_positive_float,
        default=float("inf"),
        help="drop images more elongated than this (default: no limit)",
    )
    size.add_argument(
        "--max-pixels",
        type=_positive_int,
        default=100_000_000,
        help="refuse images declaring more pixels, before decoding (default: 1e8)",
    )
    net = dl.add_argument_group("fetching")
    net.add_argument(
        "--timeout",
        type=_positive_float,
        default=10.0,
        help="overall deadline per request in seconds (default: 10)",
    )
    net.add_argument(
        "--retries",
        type=_non_negative_int,
        default=2,
        help="retries of transient failures (default: 2)",
    )
    net.add_argument(
        "--max-bytes",
        type=_positive_int,
        default=25_000_000,
        help="largest body accepted (default: 25000000)",
    )
    net.add_argument("--max-redirects", type=_non_negative_int, default=5, help="(default: 5)")
    net.add_argument(
        "--max-per-host",
        type=_positive_int,
        default=16,
        help="concurrent requests per host and process (default: 16)",
    )
    net.add_argument(
        "--ignore-robots", action="store_true", help="do not read robots.txt of image hosts"
    )
    net.add_argument(
        "--ignore-x-robots-tag",
        action="store_true",
        help="fetch even when X-Robots-Tag says noai/noimageai/noindex",
    )
    net.add_argument(
        "--allow-private-networks",
        action="store_true",
        help="allow loopback and private addresses (test webs, intranets)",
    )
    dl.add_argument(
        "--overwrite",
        action="store_true",
        help="delete raw/ first (needed to download another input there)",
    )
    dl.add_argument(
        "--retry-failed",
        action="store_true",
        help="fetch again only rows that failed for a transient reason (timeouts, 5xx, 429, "
        "connection errors) and rewrite their shards",
    )


def _add_filter_parser(sub: argparse._SubParsersAction) -> None:
    flt = _subparser(
        sub,
        "filter",
        "score raw samples (CLIP, pHash, size, language) and decide what to keep",
        cmd_filter,
    )
    model = flt.add_argument_group("scoring")
    model.add_argument(
        "--clip-model",
        default="ViT-B-32",
        help="open_clip model name, 'local-dir:FOLDER', or 'none' (default: ViT-B-32)",
    )
    model.add_argument(
        "--pretrained",
        default="openai",
        help="open_clip tag, a weights file, or 'random' (default: openai)",
    )
    model.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    model.add_argument("--batch-size", type=_positive_int, default=64, help="(default: 64)")
    model.add_argument(
        "--workers",
        type=_non_negative_int,
        default=2,
        help="DataLoader workers decoding images (default: 2)",
    )
    model.add_argument(
        "--processes",
        type=_positive_int,
        default=1,
        help="raw shards scored at once (default: 1; torch uses every core)",
    )
    model.add_argument(
        "--save-embeddings",
        action="store_true",
        help="keep normalised image and text embeddings in scores/embeddings/",
    )
    rules = flt.add_argument_group("decisions")
    rules.add_argument(
        "--min-clip-score",
        type=float,
        help="drop pairs below this cosine (LAION: 0.28 with ViT-B/32)",
    )
    rules.add_argument(
        "--keep-fraction",
        type=float,
        help="keep the top fraction by CLIP score instead (DataComp: 0.3)",
    )
    rules.add_argument(
        "--min-image-size",
        type=_non_negative_int,
        default=0,
        help="drop images whose smaller side is below this (default: 0)",
    )
    rules.add_argument(
        "--max-aspect-ratio",
        type=_positive_float,
        default=3.0,
        help="drop images more elongated than this (default: 3.0)",
    )
    rules.add_argument(
        "--min-caption-words",
        type=_non_negative_int,
        default=0,
        help="drop captions with fewer words (default: 0)",
    )
    rules.add_argument("--lang", metavar="CODES", help="keep only these caption languages")
    rules.add_argument(
        "--dedupe-distance",
        type=_non_negative_int,
        default=8,
        help="pHash Hamming distance that makes a near duplicate (default: 8, from the "
        "precision/recall study in BENCHMARKS.md)",
    )
    rules.add_argument(
        "--decontaminate",
        metavar="PATH",
        help="folder of eval images or shards: drop samples that match them",
    )
    phase = flt.add_argument_group("phases")
    phase.add_argument("--score-only", action="store_true", help="only the score phase")
    phase.add_argument(
        "--decide-only", action="store_true", help="only the decide phase (from cached scores)"
    )
    phase.add_argument(
        "--dry-run", action="store_true", help="print the funnel and write no decisions"
    )


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0..65535, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `wit-pipeline` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(verbosity_level(args.verbose, args.quiet))
    try:
        return args.handler(args)
    except InputError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.verbose:
            raise
        print(
            f"{PROG}: failed: {type(exc).__name__}: {exc} (run with -v for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

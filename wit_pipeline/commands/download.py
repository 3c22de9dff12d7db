"""`wit-pipeline download`: fetch and resize images into raw/ (img2dataset's layout)."""

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

NAME = "download"
HELP = "download and resize images into raw/ (img2dataset's layout)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The stage's options: flags on the command line, keys of its section in a run config."""
    parser.add_argument(
        "input",
        nargs="?",
        metavar="INPUT",
        help="parquet, CSV or JSONL file or folder (default: the workspace's pairs/)",
    )
    parser.add_argument("--url-col", default="url", help="column with the image URL (default: url)")
    parser.add_argument(
        "--caption-col",
        default="caption",
        help="column with the caption; '' for none (default: caption)",
    )
    parser.add_argument(
        "--save-additional-columns",
        metavar="COLS",
        help="comma-separated input columns to keep in the output",
    )
    parser.add_argument(
        "--samples-per-shard",
        type=positive_int,
        default=10_000,
        help="input rows per raw shard (default: 10000)",
    )
    parser.add_argument(
        "--processes",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="shards downloaded at once (default: all cores)",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=64,
        help="concurrent fetches per process (default: 64)",
    )
    parser.add_argument(
        "--distributor",
        choices=["multiprocessing", "ray"],
        default="multiprocessing",
        help="how shards are spread: a local process pool, or Ray tasks (same as the global "
        "--engine ray; default: multiprocessing)",
    )
    size = parser.add_argument_group("resizing (img2dataset's Resizer)")
    size.add_argument("--image-size", type=positive_int, default=256, help="(default: 256)")
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
    size.add_argument("--encode-quality", type=non_negative_int, default=95, help="(default: 95)")
    size.add_argument(
        "--min-image-size",
        type=non_negative_int,
        default=0,
        help="drop images whose smaller side is below this (default: 0)",
    )
    size.add_argument(
        "--max-aspect-ratio",
        type=positive_float,
        default=float("inf"),
        help="drop images more elongated than this (default: no limit)",
    )
    size.add_argument(
        "--max-pixels",
        type=positive_int,
        default=100_000_000,
        help="refuse images declaring more pixels, before decoding (default: 1e8)",
    )
    size.add_argument(
        "--max-decode-bytes",
        type=positive_int,
        default=512 * 2**20,
        help="refuse images whose decode would take more memory, counting channels, alpha "
        "compositing and the decoder's own buffers, judged from the header (default: 512 MiB)",
    )
    net = parser.add_argument_group("fetching")
    net.add_argument(
        "--timeout",
        type=positive_float,
        default=10.0,
        help="overall deadline per request in seconds (default: 10)",
    )
    net.add_argument(
        "--retries",
        type=non_negative_int,
        default=2,
        help="retries of transient failures (default: 2)",
    )
    net.add_argument(
        "--max-bytes",
        type=positive_int,
        default=25_000_000,
        help="largest body accepted (default: 25000000)",
    )
    net.add_argument("--max-redirects", type=non_negative_int, default=5, help="(default: 5)")
    net.add_argument(
        "--max-per-host",
        type=positive_int,
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
    net.add_argument(
        "--input-timeout",
        type=positive_float,
        default=600.0,
        help="deadline in seconds for an http(s):// INPUT to arrive whole (default: 600)",
    )
    net.add_argument(
        "--max-input-bytes",
        type=positive_int,
        default=2_000_000_000,
        help="largest http(s):// INPUT accepted (default: 2000000000)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="delete raw/ first (needed to download another input there)",
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="fetch again only rows that failed for a transient reason (timeouts, 5xx, 429, "
        "connection errors) and rewrite their shards",
    )


def run_stage(workspace: Workspace, args: argparse.Namespace, engine: Engine):
    """Download the images of a URL list (or of the workspace's pairs) into raw/."""
    from wit_pipeline.stages.download import (
        DownloadOptions,
        FetchOptions,
        InputSpec,
        ResizeOptions,
        download,
    )

    source = args.input or workspace.pairs_dir
    spec = InputSpec(
        path=source,
        url_col=args.url_col,
        caption_col=args.caption_col or None,
        samples_per_shard=args.samples_per_shard,
        extra_columns=tuple(c for c in (args.save_additional_columns or "").split(",") if c),
        timeout=args.input_timeout,
        max_bytes=args.max_input_bytes,
        allow_private_networks=args.allow_private_networks,
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
            max_decode_bytes=args.max_decode_bytes,
        ),
        processes=args.processes,
        threads=args.threads,
        overwrite=args.overwrite,
        retry_failed=args.retry_failed,
        progress=not args.quiet,
        engine=engine,
    )
    return download(workspace, spec, options)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the command to the top-level parser."""
    add_arguments(add_command(sub, NAME, HELP, stage_handler(run_stage)))

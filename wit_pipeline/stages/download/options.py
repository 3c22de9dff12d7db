"""What a user sets for `download`: its flags on the command line, its keys in a run config.
The names follow img2dataset's options where they exist."""

from __future__ import annotations

import os
from dataclasses import dataclass

from wit_pipeline.core.errors import InputError
from wit_pipeline.core.options import (
    StageOptions,
    non_negative_int,
    option,
    positive_float,
    positive_int,
    quality,
    seconds,
    shard_size,
)
from wit_pipeline.net.fetch import DISALLOWED_ROBOTS_DIRECTIVES

RESIZING = "resizing (img2dataset's Resizer)"
FETCHING = "fetching"


@dataclass(frozen=True)
class Options(StageOptions):
    """The download stage's options (see DownloadOptions for the run's structured settings)."""

    input: str | None = option(
        None,
        "parquet, CSV or JSONL file or folder (default: the workspace's pairs/)",
        positional=True,
        metavar="INPUT",
    )
    url_col: str = option("url", "column with the image URL (default: url)")
    caption_col: str = option("caption", "column with the caption; '' for none (default: caption)")
    no_header: bool = option(
        False,
        "CSV/TSV input without a header row: columns are named by position, so "
        "--url-col 1 --caption-col 0 reads CC3M's caption<TAB>url",
    )
    save_additional_columns: str | None = option(
        None, "comma-separated input columns to keep in the output", metavar="COLS"
    )
    samples_per_shard: int = option(
        10_000, "input rows per raw shard (default: 10000)", type=shard_size
    )
    processes: int = option(
        os.cpu_count() or 1,
        "shards downloaded at once (default: all cores)",
        type=positive_int,
        runtime=True,
    )
    threads: int = option(
        64, "concurrent fetches per process (default: 64)", type=positive_int, runtime=True
    )
    distributor: str = option(
        "multiprocessing",
        "how shards are spread: a local process pool, or Ray tasks (same as the global "
        "--engine ray; default: multiprocessing)",
        choices=("multiprocessing", "ray"),
    )
    image_size: int = option(256, "(default: 256)", type=positive_int, group=RESIZING)
    resize_mode: str = option(
        "border",
        "(default: border)",
        choices=("no", "border", "keep_ratio", "keep_ratio_largest", "center_crop"),
        group=RESIZING,
    )
    resize_only_if_bigger: bool = option(False, "never upscale small images", group=RESIZING)
    resize_backend: str = option(
        "pillow",
        "pillow: JPEGs decoded at reduced scale and resampled by Pillow, same sizes and checks, "
        "the same picture to a person; img2dataset: the Resizer's exact pixels (default: pillow)",
        choices=("pillow", "img2dataset"),
        group=RESIZING,
    )
    encode_format: str = option(
        "jpg", "(default: jpg)", choices=("jpg", "png", "webp"), group=RESIZING
    )
    encode_quality: int | None = option(
        None,
        "JPEG/WebP quality 0-100 (default: 95), PNG compression 0-9 (default: 9)",
        type=quality,
        group=RESIZING,
    )
    min_image_size: int = option(
        0,
        "drop images whose smaller side is below this (default: 0)",
        type=non_negative_int,
        group=RESIZING,
    )
    max_aspect_ratio: float = option(
        float("inf"),
        "drop images more elongated than this (default: no limit)",
        type=positive_float,
        group=RESIZING,
    )
    max_pixels: int = option(
        100_000_000,
        "refuse images declaring more pixels, before decoding (default: 1e8)",
        type=positive_int,
        group=RESIZING,
    )
    max_decode_bytes: int = option(
        512 * 2**20,
        "refuse images whose decode would take more memory, counting channels, alpha "
        "compositing and the decoder's own buffers, judged from the header (default: 512 MiB)",
        type=positive_int,
        group=RESIZING,
    )
    timeout: float = option(
        10.0,
        "overall deadline per request in seconds (default: 10)",
        type=seconds,
        group=FETCHING,
    )
    retries: int = option(
        2, "retries of transient failures (default: 2)", type=non_negative_int, group=FETCHING
    )
    max_bytes: int = option(
        25_000_000,
        "largest body accepted (default: 25000000)",
        type=positive_int,
        group=FETCHING,
    )
    max_redirects: int = option(5, "(default: 5)", type=non_negative_int, group=FETCHING)
    max_per_host: int = option(
        16,
        "concurrent requests per host and process (default: 16)",
        type=positive_int,
        group=FETCHING,
    )
    ignore_robots: bool = option(False, "do not read robots.txt of image hosts", group=FETCHING)
    ignore_x_robots_tag: bool = option(
        False, "fetch even when X-Robots-Tag says noai/noimageai/noindex", group=FETCHING
    )
    user_agent_token: str | None = option(
        None,
        "another name for us in the User-Agent and in X-Robots-Tag (`mytoken: noai` refuses "
        "too; img2dataset's option)",
        group=FETCHING,
        metavar="TOKEN",
    )
    disallowed_header_directives: str = option(
        ",".join(DISALLOWED_ROBOTS_DIRECTIVES),
        "comma-separated X-Robots-Tag directives that refuse an image; '' for none "
        "(default: %(default)s)",
        group=FETCHING,
        metavar="LIST",
    )
    allow_private_networks: bool = option(
        False, "allow loopback and private addresses (test webs, intranets)", group=FETCHING
    )
    input_timeout: float = option(
        600.0,
        "deadline in seconds for an http(s):// INPUT to arrive whole (default: 600)",
        type=seconds,
        group=FETCHING,
    )
    max_input_bytes: int = option(
        2_000_000_000,
        "largest http(s):// INPUT accepted (default: 2000000000)",
        type=positive_int,
        group=FETCHING,
    )
    overwrite: bool = option(False, "delete raw/ first (needed to download another input there)")
    retry_failed: bool = option(
        False,
        "fetch again only rows that failed for a transient reason (timeouts, 5xx, 429, "
        "connection errors) and rewrite their shards",
    )

    def validate(self) -> None:
        """A quality the encoder accepts (PNG takes a compression level)."""
        if self.encode_format == "png" and (self.encode_quality or 0) > 9:
            raise InputError(
                f"--encode-format png takes --encode-quality 0-9 (zlib compression), got "
                f"{self.encode_quality}; leave it out for 9"
            )

    @property
    def quality(self) -> int:
        """The encoder's quality: the option, else 95 (JPEG, WebP) or 9 (PNG compression)."""
        if self.encode_quality is not None:
            return self.encode_quality
        return 9 if self.encode_format == "png" else 95

    def required_engine(self) -> str | None:
        """`--distributor ray` asks for the Ray engine, as the global `--engine ray` does."""
        return "ray" if self.distributor == "ray" else None

"""Download one shard of input rows into img2dataset's layout: NNNNN.tar + .parquet + _stats.json.

The fetch is ours (fetch.py); resizing is img2dataset's Resizer or our faster Pillow path with
its contract (resize.py), and writing is ours with img2dataset's WebDatasetSampleWriter's files
(writer.py), so the output is the format its users' tools read. Rows are fetched and resized
on a thread pool with a bounded window of work in flight, and written in input order, so keys
and rows line up with the input however the fetches finish.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

from wit_pipeline import __version__
from wit_pipeline.core.atomic import atomic_folder
from wit_pipeline.core.staging import Staging
from wit_pipeline.core.tar import index_tar, read_member
from wit_pipeline.net.fetch import TRANSIENT_CODES, Fetcher, FetchOptions
from wit_pipeline.stages.download.decode import DEFAULT_MAX_DECODE_BYTES, over_budget
from wit_pipeline.stages.download.image import ImageHeader, ImageRejected, inspect_image
from wit_pipeline.stages.download.plan import OUTPUT_COLUMNS
from wit_pipeline.stages.download.resize import Backend, ExactResizer, PillowResizer
from wit_pipeline.stages.download.writer import ShardWriter

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

REORDER_ROWS_PER_THREAD = 32
SUCCESS, FAILED_DOWNLOAD, FAILED_RESIZE = "success", "failed_to_download", "failed_to_resize"
RESIZER_ERRORS = {
    "image too small": "too_small",
    "aspect ratio too large": "bad_aspect_ratio",
    "image area too large": "too_many_pixels",
    "Image decoding error": "decode_error",
}
KEY_COLUMNS = list(
    zip(OUTPUT_COLUMNS, [pa.string()] * 3 + [pa.int32()] * 4 + [pa.string()] * 2, strict=True)
)


@dataclass(frozen=True)
class ResizeOptions:
    """img2dataset's resizing settings, same names and defaults."""

    image_size: int = 256
    resize_mode: str = "border"
    resize_only_if_bigger: bool = False
    encode_format: str = "jpg"
    encode_quality: int = 95
    min_image_size: int = 0
    max_aspect_ratio: float = float("inf")
    max_pixels: int = 100_000_000
    max_decode_bytes: int = DEFAULT_MAX_DECODE_BYTES
    resize_backend: str = "pillow"
    """`pillow` (reduced-scale JPEG decoding) or `img2dataset` (the Resizer's exact pixels)."""


@dataclass(frozen=True)
class DownloadUnit:
    """The picklable argument of one shard's download."""

    shard_id: int
    input_path: str
    raw_dir: str
    key_digits: int
    fetch: FetchOptions = field(default_factory=FetchOptions)
    resize: ResizeOptions = field(default_factory=ResizeOptions)
    threads: int = 64
    retry_failed: bool = False

    def staged(self, staging: Staging) -> DownloadUnit:
        """This unit on a node's scratch (a workspace on object storage, core.staging): its
        planned rows fetched, and with `retry_failed` the shard it rewrites."""
        stem = f"{self.shard_id:05d}"
        if self.retry_failed:
            for suffix in (".tar", ".parquet", "_stats.json"):
                staging.fetch(Path(self.raw_dir) / f"{stem}{suffix}")
        return replace(
            self, input_path=staging.fetch(self.input_path), raw_dir=staging.output(self.raw_dir)
        )


@dataclass
class Outcome:
    """What became of one input row."""

    status: str
    error_code: str | None = None
    error_message: str | None = None
    image: bytes | None = None
    width: int | None = None
    height: int | None = None
    original_width: int | None = None
    original_height: int | None = None
    sha256: str | None = None
    resized: bool = False
    header: ImageHeader | None = None


def make_resizer(options: ResizeOptions) -> Any:
    """img2dataset's Resizer for the stage's resize options (the limits are the fetch's own)."""
    from img2dataset.resizer import Resizer

    return Resizer(
        image_size=options.image_size,
        resize_mode=options.resize_mode,
        resize_only_if_bigger=options.resize_only_if_bigger,
        encode_format=options.encode_format,
        encode_quality=options.encode_quality,
        min_image_size=options.min_image_size,
        max_aspect_ratio=options.max_aspect_ratio,
    )


def make_backend(options: ResizeOptions) -> Backend:
    """The resize backend the options name, around img2dataset's Resizer (resize.py)."""
    exact = ExactResizer(partial(make_resizer, options))
    return exact if options.resize_backend == "img2dataset" else PillowResizer(options, exact)


def fetch_row(
    url: str | None,
    fetcher: Fetcher,
    max_pixels: int,
    max_decode_bytes: int = DEFAULT_MAX_DECODE_BYTES,
) -> Outcome:
    """Fetch and check one URL (on a worker thread): its header, not its pixels, so a thread
    holds the body and never a decoded picture; failures become Outcomes, never raise."""
    if url is None or not url.strip():
        return Outcome(FAILED_DOWNLOAD, "invalid_url", "empty or missing URL")
    fetched = fetcher.fetch(url.strip())
    if not fetched.ok:
        return Outcome(FAILED_DOWNLOAD, fetched.error_code, fetched.error_message)
    body = fetched.body or b""
    try:
        header = inspect_image(body, fetched.content_type, max_pixels)
    except ImageRejected as rejected:
        return Outcome(FAILED_RESIZE, rejected.code, str(rejected))
    too_costly = over_budget(header, max_decode_bytes)
    if too_costly:
        return Outcome(FAILED_RESIZE, "too_many_pixels", too_costly)
    return Outcome(SUCCESS, image=body, sha256=hashlib.sha256(body).hexdigest(), header=header)


def resize_outcome(outcome: Outcome, resizer: Backend) -> Outcome:
    """Decode and resize a fetched image with the resize backend (resize.py). On one thread:
    one picture decoded at a time per process, and the Resizer redirects the process's stdout
    and stderr while it works, which is not safe to do from two threads."""
    if outcome.status != SUCCESS or outcome.image is None or outcome.resized:
        return outcome
    try:
        resized = resizer(outcome.image, outcome.header)
    except (OSError, ValueError, SyntaxError) as exc:
        kind = outcome.header.format.upper() if outcome.header else "image"
        return Outcome(FAILED_RESIZE, "decode_error", f"{kind}: {exc}")
    image, width, height, original_width, original_height, error = resized
    if error is not None:
        return Outcome(FAILED_RESIZE, RESIZER_ERRORS.get(error, "resize_error"), error)
    return Outcome(
        SUCCESS,
        image=image,
        width=width,
        height=height,
        original_width=original_width,
        original_height=original_height,
        sha256=outcome.sha256,
    )


def samples_schema(input_schema: pa.Schema) -> pa.Schema:
    """The raw parquet's schema: input columns first, then img2dataset's and ours."""
    return pa.schema([*input_schema, *[pa.field(n, t) for n, t in KEY_COLUMNS]])


def _settled(future: Future) -> Outcome:
    """The outcome of a row's fetch; a bug in it fails that row, never the whole shard."""
    try:
        return future.result()
    except Exception as exc:
        return Outcome(FAILED_DOWNLOAD, "unexpected_error", f"{type(exc).__name__}: {exc}")


def _submit_row(
    pool: ThreadPoolExecutor,
    row: dict,
    *,
    fetcher: Fetcher,
    resize: ResizeOptions,
) -> Future:
    # a null caption is kept (an empty .txt), as img2dataset keeps it
    return pool.submit(
        fetch_row,
        row.get("url"),
        fetcher,
        resize.max_pixels,
        resize.max_decode_bytes,
    )


def _in_order(
    rows: list[dict],
    keep: dict[int, Outcome],
    submit: Callable[[ThreadPoolExecutor, dict], Future],
    resizer: Backend,
    threads: int,
) -> Iterator[tuple[int, dict, Outcome]]:
    """(index, row, outcome) of every row, in input order, without head-of-line blocking.

    Fetches run on `threads` threads and are resized as soon as they finish (on this thread);
    a slow row only holds back the writing, while up to REORDER_ROWS_PER_THREAD * threads
    finished rows wait for it in memory, so one timeout does not idle the whole pool.
    """
    in_flight: dict[Future, int] = {}
    ready: dict[int, Outcome] = {}
    buffer_limit = max(256, REORDER_ROWS_PER_THREAD * threads)
    next_submit = next_write = 0
    with ThreadPoolExecutor(max_workers=threads) as pool:
        while next_write < len(rows):
            while (
                next_submit < len(rows)
                and len(in_flight) < 2 * threads
                and next_submit - next_write < buffer_limit
            ):
                if next_submit in keep:
                    ready[next_submit] = keep[next_submit]
                else:
                    in_flight[submit(pool, rows[next_submit])] = next_submit
                next_submit += 1
            if in_flight and next_write not in ready:
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    ready[in_flight.pop(future)] = resize_outcome(_settled(future), resizer)
            while next_write in ready:
                yield next_write, rows[next_write], ready.pop(next_write)
                next_write += 1


def _earlier_outcomes(job: DownloadUnit) -> tuple[pa.Table, dict[int, Outcome]]:
    """For --retry-failed: the shard's input rows, and the outcomes to keep (all but the rows
    that failed for a transient reason), successes with their stored image bytes. A success
    whose image is not in the tar (a retry killed between moving the parquet and the tar) is
    fetched again, so an interrupted retry converges."""
    stem = Path(job.raw_dir) / f"{job.shard_id:05d}"
    table = pq.read_table(stem.with_suffix(".parquet"))
    tar = stem.with_suffix(".tar")
    index = index_tar(tar)
    ext = job.resize.encode_format
    images = {
        key: read_member(tar, members[ext])
        for key, members in index.members.items()
        if ext in members and key not in index.problems
    }
    keep: dict[int, Outcome] = {}
    for index, record in enumerate(table.to_pylist()):
        lost = record["status"] == SUCCESS and record["key"] not in images
        if record["error_code"] in TRANSIENT_CODES or lost:
            continue
        keep[index] = Outcome(
            status=record["status"],
            error_code=record["error_code"],
            error_message=record["error_message"],
            image=images.get(record["key"]),
            width=record["width"],
            height=record["height"],
            original_width=record["original_width"],
            original_height=record["original_height"],
            sha256=record["sha256"],
            resized=True,
        )
    inputs = table.drop_columns([name for name, _ in KEY_COLUMNS])
    return inputs, keep


def download_shard(job: DownloadUnit) -> dict[str, Any]:
    """Download one shard into raw/ (files appear only when the shard is complete).

    With `job.retry_failed`, rewrite an existing shard, fetching again only the rows that
    failed for a transient reason (timeouts, 5xx, 429, connection errors); its completion
    marker is dropped while its files are replaced one by one, so no later stage reads a shard
    whose tar and parquet come from two runs.
    """
    start = time.time()
    if job.retry_failed:
        table, keep = _earlier_outcomes(job)
        if len(keep) == table.num_rows:
            return {"count": table.num_rows, "retried": 0}
    else:
        table, keep = feather.read_table(job.input_path), {}
    rows = table.to_pylist()
    has_caption = "caption" in table.schema.names
    fetcher = Fetcher(job.fetch)
    resizer = make_backend(job.resize)
    counts: Counter = Counter()
    codes: Counter = Counter()
    messages: Counter = Counter()
    stem = f"{job.shard_id:05d}"
    with atomic_folder(Path(job.raw_dir), stem) as temp:
        writer = ShardWriter(
            job.shard_id,
            str(temp),
            samples_schema(table.schema),
            job.resize.encode_format,
            save_caption=has_caption,  # no .txt members without a caption column, as img2dataset
        )
        try:
            submit = partial(
                _submit_row,
                fetcher=fetcher,
                resize=job.resize,
            )
            for index, row, outcome in _in_order(rows, keep, submit, resizer, job.threads):
                key = f"{job.shard_id:05d}{index:0{job.key_digits}d}"
                meta = {
                    **row,
                    "key": key,
                    "status": outcome.status,
                    "error_message": outcome.error_message,
                    "width": outcome.width,
                    "height": outcome.height,
                    "original_width": outcome.original_width,
                    "original_height": outcome.original_height,
                    "sha256": outcome.sha256,
                    "error_code": outcome.error_code,
                }
                writer.write(outcome.image, key, row.get("caption"), meta)
                counts[outcome.status] += 1
                if outcome.error_code:
                    codes[outcome.error_code] += 1
                    messages[outcome.error_message or outcome.error_code] += 1
        finally:
            writer.close()
        end = time.time()
        stats = {
            "count": len(rows),
            "successes": counts[SUCCESS],
            "failed_to_download": counts[FAILED_DOWNLOAD],
            "failed_to_resize": counts[FAILED_RESIZE],
            "duration": end - start,
            "start_time": start,
            "end_time": end,
            "status_dict": dict(messages.most_common(1000)),
            "error_codes": dict(codes.most_common()),
            "wit_pipeline_version": __version__,
            "resize_mode": job.resize.resize_mode,
            "image_size": job.resize.image_size,
            "resize_backend": job.resize.resize_backend,
        }
        (temp / f"{stem}_stats.json").write_text(json.dumps(stats, indent=4, sort_keys=True))
    info = {
        "count": len(rows),
        "status": dict(counts),
        "error_codes": dict(codes),
        "duration": end - start,
        "retried": len(rows) - len(keep) if job.retry_failed else 0,
    }
    return info

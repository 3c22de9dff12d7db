"""Split the download input into shards of input rows, written once to `raw/.input/`.

The plan is written before any download and reused by every rerun, so a killed run resumes
with the very same rows in the very same shards (keys never move). The input may be an fsspec
URL (s3://bucket/urls.parquet, or a folder of such files): it is fetched to a temporary local
copy for the run and fingerprinted by URL and object version. An http(s):// input comes through
the download's own fetcher, with one deadline (`timeout`), a size cap (`max_bytes`) and the
address guard, and is fingerprinted by its content.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.feather as feather

from wit_pipeline.core import storage
from wit_pipeline.core.atomic import atomic_folder, write_json_atomic
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.mirror import stable_name
from wit_pipeline.core.schemas import TableSchema, load_schema
from wit_pipeline.core.validate import input_files, input_format, open_batches, require_valid
from wit_pipeline.net.fetch import Fetcher, FetchOptions, LocalWriteError
from wit_pipeline.stages.download.layout import PLAN_DIR, PLAN_FILE

OUTPUT_COLUMNS = (
    "key",
    "status",
    "error_message",
    "width",
    "height",
    "original_width",
    "original_height",
    "sha256",
    "error_code",
)
HTTP_SCHEMES = ("http", "https")
INPUT_TIMEOUT = 600.0
"""Seconds an http(s):// input may take to arrive, whole (--input-timeout)."""
INPUT_MAX_BYTES = 2_000_000_000
"""Largest http(s):// input accepted (--max-input-bytes)."""


@dataclass(frozen=True)
class InputSpec:
    """Where the URLs come from and which columns hold what."""

    path: Path | str
    url_col: str = "url"
    caption_col: str | None = "caption"
    samples_per_shard: int = 10_000
    extra_columns: tuple[str, ...] = ()
    header: bool = True
    """False: CSV/TSV input without a header row, columns named by position (0, 1, ...)."""
    origin: str | None = None
    """The fsspec URL `path` is a local copy of (set by `local_input`), or None."""
    timeout: float = INPUT_TIMEOUT
    max_bytes: int = INPUT_MAX_BYTES
    allow_private_networks: bool = False
    """For an http(s):// input: its deadline, its size cap, and whether it may be on a
    loopback or private address (as for the images)."""


def key_digits(samples_per_shard: int) -> int:
    """Digits of the in-shard part of a key, as img2dataset computes it."""
    return max(1, math.ceil(math.log10(samples_per_shard)))


def _remote_files(url: str) -> list[str]:
    """The input files an fsspec URL stands for: itself, or a folder's supported files."""
    if not storage.is_dir(url):
        return [url]
    return [
        f
        for f in storage.find(url)
        if not f.rsplit("/", 1)[-1].startswith((".", "_")) and input_format(Path(f))
    ]


def _is_http(url: str) -> bool:
    return storage.protocol(url) in HTTP_SCHEMES


def _fetch_http_input(spec: InputSpec, folder: Path) -> Path:
    """Stream the http(s):// input into `folder` under its URL's file name (which tells its
    format), within the spec's deadline and size cap."""
    url = str(spec.path)
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "input"
    local = folder / Path(name).name
    options = FetchOptions(
        timeout=spec.timeout,
        retries=0,
        max_bytes=spec.max_bytes,
        respect_robots=False,
        respect_x_robots_tag=False,
        allow_private_networks=spec.allow_private_networks,
        accept="*/*",
    )
    try:
        with open(local, "wb") as out:
            result = Fetcher(options).fetch(url, into=out)
    except LocalWriteError as exc:
        raise InputError(f"{url}: cannot store a copy in {folder}: {exc}") from exc
    if not result.ok:
        hint = {
            "too_large": f" (--max-input-bytes {spec.max_bytes:,})",
            "timeout": f" (--input-timeout {spec.timeout:g} s)",
            "ssrf_blocked": " (--allow-private-networks lets it through)",
        }.get(result.error_code or "", "")
        raise InputError(f"{url}: cannot fetch the input: {result.error_message}{hint}")
    return local


def _fetch_input(url: str, folder: Path) -> Path:
    """Copy the input at `url` (a file, or a folder's input files) into `folder`; the local
    path standing for it."""
    if not storage.exists(url):
        raise InputError(f"{url}: no such file or folder")
    files = _remote_files(url)
    for remote in files:
        fs, path = storage.url_to_fs(remote)
        fs.get_file(path, str(folder / remote.rsplit("/", 1)[-1]))
    return folder if storage.is_dir(url) else folder / files[0].rsplit("/", 1)[-1]


@contextmanager
def local_input(spec: InputSpec) -> Iterator[InputSpec]:
    """`spec` on a local path: itself for a local input; for an fsspec URL (s3://..., a file
    or a folder of input files), a temporary copy, fetched whole and removed afterwards (the
    validators read local files); their messages name the URL, not the copy."""
    if storage.is_local(spec.path):
        yield replace(spec, path=storage.local_path(spec.path))
        return
    url = str(spec.path)
    with tempfile.TemporaryDirectory(prefix="wit-input-") as temp:
        if _is_http(url):
            local = _fetch_http_input(spec, Path(temp))
        else:
            local = _fetch_input(url, Path(temp))
        try:
            yield replace(spec, path=local, origin=url)
        except InputError as exc:
            where = temp if local == Path(temp) else str(local)
            raise InputError(str(exc).replace(where, url.rstrip("/"))) from exc


def _content_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return f"{path.stat().st_size}\tsha256:{digest.hexdigest()}"


def _fingerprint(spec: InputSpec) -> dict:
    if spec.origin is not None and _is_http(spec.origin):
        files = [[spec.origin, _content_digest(Path(spec.path))]]
    elif spec.origin is not None:
        files = [[f, storage.version(f)] for f in _remote_files(spec.origin)]
    else:
        files = [
            [stable_name(f), f.stat().st_size, f.stat().st_mtime_ns]
            for f in input_files(Path(spec.path))
        ]
    return {
        "files": files,
        "url_col": spec.url_col,
        "caption_col": spec.caption_col,
        "samples_per_shard": spec.samples_per_shard,
        "extra_columns": list(spec.extra_columns),
        **({} if spec.header else {"header": False}),
    }


def _rows(spec: InputSpec, path: Path, types: dict[str, pa.DataType]) -> Iterator[pa.RecordBatch]:
    """One input file's rows as batches of url and caption strings, then the extra columns in
    their own Arrow types (as img2dataset keeps them): the types `types` holds, else this
    file's, recorded there for the files after it."""
    wanted = (
        [spec.url_col] + ([spec.caption_col] if spec.caption_col else []) + list(spec.extra_columns)
    )
    names = ["url", "caption"][: 1 + bool(spec.caption_col)] + list(spec.extra_columns)
    strings = len(names) - len(spec.extra_columns)
    schema, batches = open_batches(path, spec.header)
    for column in spec.extra_columns:
        types.setdefault(column, schema.field(column).type)
    rows = 0
    try:
        for batch in batches:
            columns = [
                batch.column(name).cast(pa.string() if i < strings else types[names[i]])
                for i, name in enumerate(wanted)
            ]
            yield pa.RecordBatch.from_arrays(columns, names=names)
            rows += batch.num_rows
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise InputError(f"{path}: unreadable after row {rows:,} ({reason})") from exc


def _input_contract(spec: InputSpec) -> TableSchema:
    """The pairs contract of the columns the download reads, under the names it reads them by:
    other columns (a `caption` left unused by --caption-col text) are not its business."""
    pairs = load_schema("pairs")
    fields = [replace(pairs.field("url"), name=spec.url_col)]
    if spec.caption_col:
        fields.append(replace(pairs.field("caption"), name=spec.caption_col))
    return replace(pairs, fields=tuple(fields))


def check_input(spec: InputSpec) -> dict | None:
    """Validate the input (exit-2 InputError on bad input); its fingerprint, or None if absent."""
    reserved = {"url", "caption", *OUTPUT_COLUMNS}
    for column in spec.extra_columns:
        if column in reserved or spec.extra_columns.count(column) > 1:
            raise InputError(
                f"--save-additional-columns: {column!r} is written anyway or given twice "
                f"(reserved: {', '.join(sorted(reserved))})"
            )
    if not Path(spec.path).exists():
        return None
    required = [spec.url_col] + ([spec.caption_col] if spec.caption_col else [])
    columns = required + list(spec.extra_columns)
    require_valid(
        Path(spec.path), _input_contract(spec), columns, check_nulls=False, header=spec.header
    )
    return _fingerprint(spec)


def plan_shards(spec: InputSpec, raw_dir: Path, fingerprint: dict | None) -> list[Path]:
    """Write the input's shards to raw/.input/, or reuse the plan an earlier run wrote."""
    plan_dir = raw_dir / PLAN_DIR
    plan_file = plan_dir / PLAN_FILE
    if plan_file.is_file():
        plan = json.loads(plan_file.read_text())
        if fingerprint is not None and plan["input"] != fingerprint:
            raise InputError(
                f"{raw_dir}: holds a download of another input or other settings; "
                "use --overwrite to start over, or another --workdir"
            )
        return [plan_dir / name for name in plan["shards"]]
    if fingerprint is None:
        raise InputError(f"{spec.path}: no such file or folder")
    shards: list[str] = []
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    # written aside and moved in only once the whole input was read: bad rows found on the way
    # leave no half plan behind
    with atomic_folder(plan_dir, "plan") as temp:

        def flush(batches: list[pa.RecordBatch]) -> None:
            name = f"{len(shards):05d}.arrow"
            feather.write_feather(pa.Table.from_batches(batches), temp / name, compression="zstd")
            shards.append(name)

        types: dict[str, pa.DataType] = {}
        for path in input_files(Path(spec.path)):
            for batch in _rows(spec, path, types):
                while batch.num_rows:
                    take = batch.slice(0, spec.samples_per_shard - pending_rows)
                    pending.append(take)
                    pending_rows += take.num_rows
                    batch = batch.slice(take.num_rows)
                    if pending_rows == spec.samples_per_shard:
                        flush(pending)
                        pending, pending_rows = [], 0
            if pending:  # a new shard for each input file, as img2dataset starts one
                flush(pending)
                pending, pending_rows = [], 0
        write_json_atomic(temp / PLAN_FILE, {"input": fingerprint, "shards": shards})
    return [plan_dir / name for name in shards]

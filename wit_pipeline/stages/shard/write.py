"""Write one output shard: copy its samples' raw members into a deterministic tar, or into a
parquet file with an `image` column that Hugging Face `datasets` loads as an Image feature.

Bytes are streamed from the raw tars (seek to the indexed member, copy `size` bytes), so memory
stays at one copy buffer whatever the image sizes. Every header carries fixed metadata (mtime 0,
uid/gid 0, empty owner names, mode 0o444) in ustar format, so a seed always gives the same
bytes. The shard's manifest rows go to a hidden part file, gathered into manifest.parquet once
every shard is written. Shards bound for object storage are written the same way into a local
staging folder, then uploaded whole. A shard's facts (its completion marker, written by the
executor once both uploads are done) name the size and SHA-256 of the tar and of its manifest
part, so a rerun and verify-shards can tell a committed object from one cut or replaced.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from wit_pipeline.core import storage
from wit_pipeline.core.atomic import atomic_path
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.stages.shard.blur import Blurrer
from wit_pipeline.stages.shard.plan import PlannedSample, ShardJob

MANIFEST_PARTS = ".manifest-parts"
PARQUET_ROWS_PER_GROUP = 256
"""Samples per row group of a parquet shard: the writer holds one group's images at a time."""
PARQUET_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
        ("caption", pa.string()),
        ("json", pa.string()),
    ],
    metadata={
        "huggingface": json.dumps(
            {
                "info": {
                    "features": {
                        "key": {"dtype": "string", "_type": "Value"},
                        "image": {"_type": "Image"},
                        "caption": {"dtype": "string", "_type": "Value"},
                        "json": {"dtype": "string", "_type": "Value"},
                    }
                }
            }
        )
    },
)
"""A parquet shard's columns: what the tar's three members hold, the image as `datasets`'
Image struct (bytes, path), the features recorded where `datasets` reads them."""
OPEN_RAW_TARS = 32
HASH_BLOCK = 1 << 20


def file_sha256(url: Path | str) -> str:
    """The hex SHA-256 of the file at `url` (a local path or an fsspec URL), read in blocks."""
    digest = hashlib.sha256()
    with storage.open_input(url) as handle:
        for block in iter(lambda: handle.read(HASH_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def tar_info(name: str, size: int) -> tarfile.TarInfo:
    """A member header that depends only on the name and size."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.mode = 0o444
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


class RawFiles:
    """A small cache of open raw tars (a shard draws from many; file handles are bounded)."""

    def __init__(self, limit: int = OPEN_RAW_TARS) -> None:
        self.limit = limit
        self.handles: OrderedDict[str, IO[bytes]] = OrderedDict()

    def at(self, path: str, offset: int) -> IO[bytes]:
        """The open file `path`, positioned at `offset`."""
        handle = self.handles.pop(path, None)
        if handle is None:
            handle = storage.open_file(path)  # kept open across samples, closed in close()
            if len(self.handles) >= self.limit:
                self.handles.popitem(last=False)[1].close()
        self.handles[path] = handle
        handle.seek(offset)
        return handle

    def read(self, path: str, offset: int, size: int) -> bytes:
        """`size` bytes of `path` from `offset`."""
        return self.at(path, offset).read(size)

    def close(self) -> None:
        """Close every cached handle."""
        for handle in self.handles.values():
            handle.close()
        self.handles.clear()


def sample_json(sample: PlannedSample, raw_meta: dict[str, Any], caption: str) -> dict[str, Any]:
    """The KEY.json of an output sample: raw facts (url, sizes) plus the filter's facts."""
    facts = sample.facts
    return {
        "key": sample.key,
        "raw_key": sample.raw_key,
        "raw_shard": Path(sample.raw_tar).stem,
        "url": raw_meta.get("url"),
        "caption": caption,
        "clip_score": facts.get("clip_score"),
        "clip_model": facts.get("clip_model"),
        "phash": facts.get("phash"),
        "width": facts.get("width") if facts.get("width") is not None else raw_meta.get("width"),
        "height": (
            facts.get("height") if facts.get("height") is not None else raw_meta.get("height")
        ),
        "original_width": raw_meta.get("original_width"),
        "original_height": raw_meta.get("original_height"),
        "sha256": raw_meta.get("sha256"),
    }


def _record(raw: RawFiles, sample: PlannedSample) -> tuple[dict[str, Any], bytes, dict[str, Any]]:
    """A sample's output JSON, its caption's bytes and its raw JSON, read from its members."""
    txt, meta = sample.members["txt"], sample.members["json"]
    caption = raw.read(sample.raw_tar, txt.offset, txt.size)
    raw_meta = json.loads(raw.read(sample.raw_tar, meta.offset, meta.size))
    return sample_json(sample, raw_meta, caption.decode("utf-8")), caption, raw_meta


def _blurred(
    raw: RawFiles,
    sample: PlannedSample,
    raw_meta: dict[str, Any],
    record: dict[str, Any],
    blurrer: Blurrer | None,
) -> bytes | None:
    """The sample's image blurred (noted in `record`), or None when it stays as it was."""
    if blurrer is None:
        return None
    jpg = sample.members["jpg"]
    image = raw.read(sample.raw_tar, jpg.offset, jpg.size)
    blurred = blurrer(image, raw_meta, Path(sample.raw_tar).stem)
    record["blurred"] = blurred is not None
    return blurred


def _write_sample(
    tar: tarfile.TarFile, raw: RawFiles, sample: PlannedSample, blurrer: Blurrer | None
) -> tuple[dict[str, Any], int]:
    """Append one sample's three members; its JSON and the offset of its first header."""
    offset = tar.offset
    jpg = sample.members["jpg"]
    record, caption, raw_meta = _record(raw, sample)
    blurred = _blurred(raw, sample, raw_meta, record, blurrer)
    if blurred is not None:
        tar.addfile(tar_info(f"{sample.key}.jpg", len(blurred)), io.BytesIO(blurred))
    else:
        tar.addfile(tar_info(f"{sample.key}.jpg", jpg.size), raw.at(sample.raw_tar, jpg.offset))
    tar.addfile(tar_info(f"{sample.key}.txt", len(caption)), io.BytesIO(caption))
    encoded = json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")
    tar.addfile(tar_info(f"{sample.key}.json", len(encoded)), io.BytesIO(encoded))
    return record, offset


def _manifest_row(record: dict[str, Any], shard: str, offset: int) -> dict[str, Any]:
    names = load_schema("manifest").arrow.names
    row = {name: record.get(name) for name in names}
    row.update(shard=shard, offset=offset)
    return row


def _write_parquet(
    path: Path, raw: RawFiles, job: ShardJob, blurrer: Blurrer | None
) -> list[dict[str, Any]]:
    """Write `job`'s samples as rows of a parquet shard at `path`; their manifest rows (the
    offset: the row's number in the shard)."""
    rows, batch = [], []
    with pq.ParquetWriter(path, PARQUET_SCHEMA) as writer:
        for number, sample in enumerate(job.samples()):
            jpg = sample.members["jpg"]
            record, caption, raw_meta = _record(raw, sample)
            blurred = _blurred(raw, sample, raw_meta, record, blurrer)
            data = (
                blurred if blurred is not None else raw.read(sample.raw_tar, jpg.offset, jpg.size)
            )
            image = {"bytes": data, "path": f"{sample.key}.jpg"}
            encoded = json.dumps(record, sort_keys=True, ensure_ascii=False)
            batch.append({"key": sample.key, "image": image,
                          "caption": caption.decode("utf-8"), "json": encoded})  # fmt: skip
            rows.append(_manifest_row(record, job.name, number))
            if len(batch) == PARQUET_ROWS_PER_GROUP:
                writer.write_table(pa.Table.from_pylist(batch, schema=PARQUET_SCHEMA))
                batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=PARQUET_SCHEMA))
    return rows


def _write_tar(
    path: Path, raw: RawFiles, job: ShardJob, blurrer: Blurrer | None
) -> list[dict[str, Any]]:
    """Write `job`'s samples as a tar at `path`; their manifest rows."""
    rows = []
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for sample in job.samples():
            record, offset = _write_sample(tar, raw, sample, blurrer)
            rows.append(_manifest_row(record, job.name, offset))
    return rows


def _write_into(folder: Path, job: ShardJob) -> dict[str, Any]:
    """Write `job` as FOLDER/NAME (.tar or .parquet) and its manifest part, each atomically;
    its facts."""
    raw = RawFiles()
    blurrer = Blurrer(job.blur, job.raw_dir) if job.blur is not None else None
    write = _write_parquet if job.name.endswith(".parquet") else _write_tar
    try:
        with atomic_path(folder / job.name) as temp:
            rows = write(temp, raw, job, blurrer)
            manifest = pa.Table.from_pylist(rows, schema=load_schema("manifest").arrow)
            with atomic_path(folder / MANIFEST_PARTS / manifest_part(job.name)) as part:
                pq.write_table(manifest, part)
    finally:
        raw.close()
    shard, part = folder / job.name, folder / MANIFEST_PARTS / manifest_part(job.name)
    return {
        "samples": len(rows),
        "filesize": shard.stat().st_size,
        "sha256": file_sha256(shard),
        "manifest_part": {"filesize": part.stat().st_size, "sha256": file_sha256(part)},
    }


def manifest_part(shard: str) -> str:
    """The file name of a shard's manifest part in MANIFEST_PARTS, e.g. `00000.parquet`."""
    return f"{Path(shard).stem}.parquet"


def write_shard(job: ShardJob) -> dict[str, Any]:
    """Write `job` as OUT/NAME.tar and its manifest part; return its facts. A local OUT gets
    them by atomic rename; an fsspec URL gets each uploaded whole from a local staging folder
    (object stores have no rename), so a reader never sees part of a shard."""
    if storage.is_local(job.out_dir):
        return _write_into(storage.local_path(job.out_dir), job)
    with tempfile.TemporaryDirectory(prefix="wit-shard-") as staging:
        facts = _write_into(Path(staging), job)
        part = Path(staging) / MANIFEST_PARTS / manifest_part(job.name)
        storage.put_file(part, storage.join(job.out_dir, MANIFEST_PARTS, part.name))
        storage.put_file(Path(staging) / job.name, storage.join(job.out_dir, job.name))
    return facts

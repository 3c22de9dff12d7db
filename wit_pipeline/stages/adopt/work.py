"""Adopt one checked img2dataset shard into raw/: the tar copied byte for byte (or, when samples
lack their .txt or .json, or the images lie in a folder or a parquet column, written again with
the very same image bytes), the parquet sorted by key with our `error_code` column, the stats
with what filter needs. The three files appear together (one atomic folder move)."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wit_pipeline.core import storage
from wit_pipeline.core.atomic import atomic_folder
from wit_pipeline.core.tar import IMAGE_EXTENSIONS, Member, TarWalk
from wit_pipeline.stages.adopt.check import PARQUET, WEBDATASET, ShardFacts
from wit_pipeline.stages.adopt.codes import error_code
from wit_pipeline.stages.adopt.source import SourceShard

COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class AdoptJob:
    """The picklable argument of one shard's adoption."""

    shard: SourceShard
    facts: ShardFacts
    raw_dir: str
    resize_mode: str


def _samples_table(job: AdoptJob) -> pa.Table:
    """The shard's parquet as raw/ holds it: image bytes and .txt columns left out (they live in
    the tar), rows sorted by key, `error_code` from the error message unless it has one."""
    table = storage.read_table(job.shard.parquet)
    if job.facts.kind == PARQUET:
        extra = (job.facts.image_column, "txt")
        table = table.drop_columns([c for c in table.schema.names if c in extra])
    table = table.sort_by("key")
    if "error_code" not in table.schema.names:
        codes = [error_code(m) for m in table["error_message"].to_pylist()]
        table = table.append_column("error_code", pa.array(codes, pa.string()))
    return table


def _member_bytes(shard: SourceShard) -> Iterator[tuple[str, dict[str, bytes]]]:
    """(key, {extension: bytes}) of every sample in the shard's tar or folder."""
    if shard.tar is not None:
        size = storage.size(shard.tar)
        with storage.open_input(shard.tar) as handle:
            walk = TarWalk(handle, size)
            index: dict[str, dict[str, Member]] = {}
            for entry in walk:
                key, ext = entry.key_ext
                index.setdefault(key, {})[ext] = Member(entry.offset, entry.size)
            for key, members in index.items():
                found = {}
                for ext, member in members.items():
                    handle.seek(member.offset)
                    found[ext] = handle.read(member.size)
                yield key, found
        return
    fs, path = storage.url_to_fs(shard.folder)
    grouped: dict[str, dict[str, str]] = {}
    for name in fs.ls(path, detail=False):
        key, _, ext = name.rstrip("/").rsplit("/", 1)[-1].partition(".")
        grouped.setdefault(key, {})[ext.lower()] = name
    for key, files in grouped.items():
        yield key, {ext: fs.cat_file(name) for ext, name in files.items()}


def _parquet_images(job: AdoptJob) -> Iterator[tuple[str, dict[str, bytes]]]:
    """(key, {image extension: bytes, txt}) of a parquet-format shard's successful samples."""
    column = job.facts.image_column
    wanted = ["key", "status", column] + (["txt"] if "txt" in _names(job) else [])
    table = storage.read_table(job.shard.parquet, columns=wanted)
    table = table.filter(pc.equal(table["status"], "success"))
    for row in table.to_pylist():
        found = {column: row[column]}
        if row.get("txt") is not None:
            found["txt"] = row["txt"].encode("utf-8")
        yield row["key"], found


def _names(job: AdoptJob) -> list[str]:
    with storage.open_input(job.shard.parquet) as handle:
        return pq.ParquetFile(handle).schema_arrow.names


def _meta(row: dict[str, Any]) -> bytes:
    """A sample's .json as img2dataset writes it: its parquet row."""
    return json.dumps(row, indent=4, default=str).encode("utf-8")


def _write_tar(
    path: Path, samples: pa.Table, members: Iterator[tuple[str, dict[str, bytes]]]
) -> None:
    """A raw tar of the successful samples, streamed in the source's order: image, .txt (the
    caption, empty without one) and .json (the parquet row) for each, deterministic headers."""
    successes = samples.filter(pc.equal(samples["status"], "success")).to_pylist()
    rows = {row["key"]: row for row in successes}
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for key, found in members:
            row = rows.get(key)
            if row is None:
                continue
            image = next(e for e in IMAGE_EXTENSIONS if e in found)
            caption = row.get("caption")
            text = found.get("txt", (caption if caption is not None else "").encode("utf-8"))
            for ext, data in ((image, found[image]), ("txt", text), ("json", found.get("json"))):
                data = data if data is not None else _meta(row)
                info = tarfile.TarInfo(f"{key}.{ext}")
                info.size, info.mode, info.mtime = len(data), 0o444, 0
                tar.addfile(info, io.BytesIO(data))


def _stats(job: AdoptJob, samples: pa.Table) -> dict[str, Any]:
    stats = json.loads(storage.read_bytes(job.shard.stats))
    codes = Counter(c for c in samples["error_code"].to_pylist() if c)
    return {
        **stats,
        "resize_mode": job.resize_mode,
        "error_codes": dict(codes.most_common()),
        "adopted_from": job.shard.parquet.rsplit("/", 1)[0],
        "adopted_format": job.facts.kind,
    }


def adopt_shard(job: AdoptJob) -> dict[str, Any]:
    """Write one shard's tar, parquet and stats into raw/; its facts for the marker."""
    raw_dir, name = Path(job.raw_dir), job.shard.name
    samples = _samples_table(job)
    with atomic_folder(raw_dir, name) as temp:
        tar = temp / f"{name}.tar"
        if job.facts.kind == WEBDATASET and job.facts.copy_as_is:
            with storage.open_input(job.shard.tar) as source, open(tar, "wb") as target:
                shutil.copyfileobj(source, target, COPY_CHUNK)
        else:
            found = _parquet_images(job) if job.facts.kind == PARQUET else _member_bytes(job.shard)
            _write_tar(tar, samples, found)
        pq.write_table(samples, temp / f"{name}.parquet")
        (temp / f"{name}_stats.json").write_text(json.dumps(_stats(job, samples), indent=4))
    return {
        "count": samples.num_rows,
        "successes": job.facts.successes,
        "format": job.facts.kind,
        "copied_as_is": job.facts.copy_as_is,
    }

"""The shards of an img2dataset output folder: which files each one has, found from one listing
(local path or fsspec URL), before anything is read or written."""

from __future__ import annotations

import re
from dataclasses import dataclass

from wit_pipeline.core import storage
from wit_pipeline.core.errors import InputError

_SHARD_FILE = re.compile(r"^(\d+)(\.tar|\.parquet|_stats\.json)$")
_SHARD_FOLDER = re.compile(r"^\d+$")


@dataclass(frozen=True)
class SourceShard:
    """One img2dataset shard: its name (`00003`) and the URLs of the files it has (None: it
    has none): the tar (webdataset), the folder of files (files), the parquet, the stats."""

    name: str
    parquet: str | None = None
    stats: str | None = None
    tar: str | None = None
    folder: str | None = None


def find_shards(folder: str) -> list[SourceShard]:
    """Every shard of the output folder `folder`, by name; InputError when it is no folder or
    holds no img2dataset shard."""
    if not storage.exists(folder):
        raise InputError(f"{folder}: no such folder")
    if not storage.is_dir(folder):
        raise InputError(f"{folder}: not a folder (pass the img2dataset --output_folder)")
    fs, path = storage.url_to_fs(folder)
    files: dict[str, dict[str, str]] = {}
    for entry in fs.ls(path, detail=True):
        name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
        url = storage.join(folder, name)
        match = _SHARD_FILE.match(name)
        if entry.get("type") == "file" and match:
            kind = {".tar": "tar", ".parquet": "parquet", "_stats.json": "stats"}[match.group(2)]
            files.setdefault(match.group(1), {})[kind] = url
        elif entry.get("type") == "directory" and _SHARD_FOLDER.match(name):
            files.setdefault(name, {})["folder"] = url
    if not files:
        raise InputError(
            f"{folder}: no img2dataset shards (NNNNN.parquet with NNNNN.tar, a NNNNN/ folder "
            "or an image column, and NNNNN_stats.json)"
        )
    return [SourceShard(name, **found) for name, found in sorted(files.items())]

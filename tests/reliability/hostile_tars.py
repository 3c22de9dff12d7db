"""Tars made by someone else: members named `../x` or `/abs/x`, links and devices, members that
declare a huge size (a sparse hole, so the disk holds nothing), cut-off tars, JSON that is not.
Written header by header, as tarfile itself would refuse to write some of them."""

from __future__ import annotations

import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

BLOCK = tarfile.BLOCKSIZE
GIB = 2**30


@dataclass(frozen=True)
class Entry:
    """One member: its name, bytes and type; `declared` > len(data) leaves a zero-filled hole."""

    name: str
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    linkname: str = ""
    declared: int | None = None


def jpeg_bytes(shade: int = 90) -> bytes:
    """A real 8x8 JPEG."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, 40, 200)).save(out, format="JPEG")
    return out.getvalue()


def sample(key: str, meta: dict | None = None, caption: str = "a blue square") -> list[Entry]:
    """A well-formed sample: KEY.jpg, KEY.txt, KEY.json."""
    body = json.dumps(meta if meta is not None else {"key": key, "url": f"http://x.test/{key}"})
    return [
        Entry(f"{key}.jpg", jpeg_bytes()),
        Entry(f"{key}.txt", caption.encode()),
        Entry(f"{key}.json", body.encode()),
    ]


def write_tar(path: Path, entries: list[Entry], cut_at: int | None = None) -> Path:
    """Write `entries` as a GNU tar; with `cut_at`, keep only the first `cut_at` bytes."""
    with open(path, "wb") as handle:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type, info.linkname, info.mode, info.mtime = entry.type, entry.linkname, 0o644, 0
            if entry.type == tarfile.CHRTYPE:
                info.devmajor, info.devminor = 1, 3
            regular = entry.type == tarfile.REGTYPE
            info.size = (entry.declared or len(entry.data)) if regular else 0
            handle.write(info.tobuf(format=tarfile.GNU_FORMAT))
            if not regular:
                continue
            handle.write(entry.data)
            padded = -(-info.size // BLOCK) * BLOCK
            handle.seek(padded - len(entry.data), os.SEEK_CUR)
        handle.write(bytes(2 * BLOCK))
        handle.truncate()
    if cut_at is not None:
        os.truncate(path, cut_at)
    return path


def offset_of(path: Path, name: str) -> int:
    """Where the data of member `name` starts in a (whole) tar."""
    with tarfile.open(path) as tar:
        return tar.getmember(name).offset_data


def pax_bomb(before: list[Entry], after: list[Entry], declared: int = GIB) -> list[bytes]:
    """The pieces of a tar whose PAX record between `before` and `after` declares `declared`
    bytes (as `bytes` to write; an int is a zero-filled hole of that many bytes)."""
    head = io.BytesIO()
    write_tar_to(head, before, end=False)
    record = tarfile.TarInfo("././@PaxHeader")
    record.type, record.size, record.mtime = tarfile.XHDTYPE, declared, 0
    tail = io.BytesIO()
    write_tar_to(tail, after, end=True)
    return [head.getvalue() + record.tobuf(format=tarfile.USTAR_FORMAT), declared, tail.getvalue()]


def write_tar_to(handle, entries: list[Entry], end: bool) -> None:
    """Regular members written in full into `handle` (a stream), and the end marker if `end`."""
    for entry in entries:
        info = tarfile.TarInfo(entry.name)
        info.size, info.mode, info.mtime = len(entry.data), 0o644, 0
        handle.write(info.tobuf(format=tarfile.GNU_FORMAT))
        handle.write(entry.data + bytes(-len(entry.data) % BLOCK))
    if end:
        handle.write(bytes(2 * BLOCK))


def write_pax_bomb(path: Path, pieces: list, gzipped: bool = False) -> Path:
    """Write `pax_bomb` pieces: a sparse hole for a plain tar, real zeros for a gzipped one."""
    import gzip

    if not gzipped:
        with open(path, "wb") as handle:
            for piece in pieces:
                if isinstance(piece, int):
                    handle.seek(-(-piece // BLOCK) * BLOCK, os.SEEK_CUR)
                else:
                    handle.write(piece)
        return path
    chunk = bytes(1 << 20)
    with gzip.open(path, "wb", compresslevel=1) as handle:
        for piece in pieces:
            if isinstance(piece, int):
                for _ in range(-(-piece // len(chunk))):
                    handle.write(chunk)
            else:
                handle.write(piece)
    return path

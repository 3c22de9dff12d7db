"""Index a raw tar from its headers alone, quickly and defensively (raw tars may come from others).

Python's tarfile spends about a millisecond per image on img2dataset's PAX headers; this walker
reads only the header blocks (and the small PAX / GNU long-name records), checks each checksum,
and notes where every member's data lies. It never reads member data, never follows a link and
never extracts anything. Members it will not read leave a problem for their key instead: an
unsafe name, a link or device, data past the end of the file, a size over the limit. A damaged
header is skipped up to the next valid one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)
MAX_RECORD_BYTES = 1 << 20
"""Longest PAX or GNU long-name record read; a longer one is damage."""

MAX_IMAGE_BYTES = 64 << 20
MAX_TEXT_BYTES = 1 << 20
TEXT_EXTENSIONS = ("json", "txt")

REGULAR_TYPES = (b"0", b"\x00", b"7")
RECORD_TYPES = (b"x", b"g", b"L", b"K")
"""PAX (per member, global) and GNU (long name, long link) records: not members."""
TYPE_NAMES = {
    b"1": "hard link",
    b"2": "symbolic link",
    b"3": "character device",
    b"4": "block device",
    b"5": "directory",
    b"6": "FIFO",
}


@dataclass(frozen=True)
class Member:
    """Where a member's data lies in the tar."""

    offset: int
    size: int


@dataclass
class TarIndex:
    """Members by key and extension; why some keys' members will not be read; tar damage."""

    members: dict[str, dict[str, Member]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    damage: str | None = None


@dataclass
class _Header:
    """One parsed header block."""

    name: str
    size: int
    kind: bytes


def index_tar(path: Path) -> TarIndex:
    """Every member of the tar at `path`, by key (the name up to its first dot) and extension."""
    index = TarIndex()
    try:
        with open(path, "rb") as handle:
            _walk(handle, os.fstat(handle.fileno()).st_size, index)
    except OSError as exc:
        index.damage = f"unreadable: {exc}"
    return index


def _walk(handle: BinaryIO, file_size: int, index: TarIndex) -> None:
    """Read header after header; PAX and GNU records rename or resize the member after them."""
    offset, override = 0, {}
    while offset + BLOCK <= file_size:
        handle.seek(offset)
        block = handle.read(BLOCK)
        if block == ZERO_BLOCK:
            return
        header = _parse(block)
        if header is None:
            index.damage = index.damage or f"damaged header at byte {offset:,}, skipped"
            offset += BLOCK
            continue
        data = offset + BLOCK
        if header.kind in RECORD_TYPES:
            offset = data + _padded(header.size)
            if header.kind in (b"x", b"L"):
                record = _record(handle, data, header.size, file_size)
                if record is None:
                    index.damage = f"unusable {header.kind.decode()} record at byte {data:,}"
                    return
                override = _pax(record) if header.kind == b"x" else {"path": _text(record)}
            continue
        size = int(override.get("size", header.size))
        name = override.get("path", header.name)
        override = {}
        offset = data + _padded(size)
        _add(index, name, header.kind, Member(data, size), file_size)
        if data + size > file_size:
            index.damage = index.damage or f"tar cut short inside member {name[:100]!r}"
            return
    index.damage = index.damage or f"tar ends at byte {file_size:,} without its end marker"


def _padded(size: int) -> int:
    """Bytes a member's data takes in the tar: its size rounded up to whole blocks."""
    return -(-size // BLOCK) * BLOCK


def _parse(block: bytes) -> _Header | None:
    """The header in one block, or None when its checksum or size field is invalid."""
    try:
        stored = int(block[148:156].strip(b" \x00") or b"-1", 8)
        size = _number(block[124:136])
    except ValueError:
        return None
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:])
    if stored != unsigned or size < 0:
        return None
    name = _text(block[:100])
    if block[257:263] == b"ustar\x00" and block[345] != 0:
        name = f"{_text(block[345:500])}/{name}"
    return _Header(name, size, block[156:157])


def _number(field_bytes: bytes) -> int:
    """A numeric header field: octal text, or GNU base-256 (high bit set)."""
    if field_bytes[0] & 0x80:
        value = int.from_bytes(field_bytes[1:], "big")
        return -value if field_bytes[0] & 0x40 else value
    return int(field_bytes.strip(b" \x00") or b"0", 8)


def _text(raw: bytes) -> str:
    """A NUL-terminated header string (undecodable bytes kept as escapes)."""
    return raw.split(b"\x00", 1)[0].decode("utf-8", "backslashreplace")


def _record(handle: BinaryIO, offset: int, size: int, file_size: int) -> bytes | None:
    """A PAX or GNU long-name record, or None when it is huge or cut short."""
    if size > MAX_RECORD_BYTES or offset + size > file_size:
        return None
    handle.seek(offset)
    return handle.read(size)


def _pax(record: bytes) -> dict[str, str]:
    """The `path` and `size` entries of a PAX record ("LEN key=value\\n" ...), if valid."""
    found: dict[str, str] = {}
    position = 0
    while position < len(record):
        space = record.find(b" ", position)
        try:
            length = int(record[position:space])
        except ValueError:
            break
        if length <= 0:
            break
        entry = record[space + 1 : position + length - 1]
        key, _, value = entry.partition(b"=")
        if key in (b"path", b"size"):
            found[key.decode()] = value.decode("utf-8", "backslashreplace")
        position += length
    if not found.get("size", "0").isdigit():
        found.pop("size")
    return found


def _add(index: TarIndex, name: str, kind: bytes, member: Member, file_size: int) -> None:
    """Record one member under its key, or a problem for that key."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    key, dot, ext = base.partition(".")
    if not dot or not key:
        return
    ext = ext.lower()
    problem = _problem(name, kind, member, ext, file_size)
    if problem is not None:
        index.problems.setdefault(key, f"{ext} member {name[:100]!r}: {problem}")
    else:
        index.members.setdefault(key, {}).setdefault(ext, member)


def _problem(name: str, kind: bytes, member: Member, ext: str, file_size: int) -> str | None:
    """Why a member will not be read, or None."""
    if "/" in name or "\\" in name or name.startswith(".."):
        return "a path, not a flat name (absolute, '..' or a folder)"
    if kind not in REGULAR_TYPES:
        return f"not a regular file ({TYPE_NAMES.get(kind, f'tar type {kind!r}')})"
    limit = MAX_TEXT_BYTES if ext in TEXT_EXTENSIONS else MAX_IMAGE_BYTES
    if member.size > limit:
        return f"declares {member.size:,} bytes, over the limit of {limit:,}"
    if member.offset + member.size > file_size:
        return f"cut short ({file_size - member.offset:,} of {member.size:,} bytes in the tar)"
    return None

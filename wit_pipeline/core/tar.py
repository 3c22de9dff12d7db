"""The one tar reader: every tar the pipeline reads (raw shards, output shards, eval sets, shards
streamed into training) goes through this bounded header walker, with one set of limits and one
member check.

Tars may come from others. Python's tarfile reads PAX and GNU long-name records whole (a 12 KB
sparse tar declaring a 1 GiB record costs a GiB) and spends about a millisecond per member on
img2dataset's PAX headers; this walker reads the 512-byte header blocks and the small PAX / GNU
records (at most `MAX_RECORD_BYTES`), checks each header's checksum and notes where every
member's data lies. It reads member data only when asked, up to a limit, never follows a link
and never extracts anything. A damaged header is skipped up to the next valid one; an unusable
record or a cut-off tar ends the walk with the damage noted. Seekable files are walked by
seeking; streams (pipes, HTTP, gzip/bz2/xz-compressed tars) by reading and discarding.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from wit_pipeline.core import storage

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)
MAX_RECORD_BYTES = 1 << 20
"""Longest PAX or GNU long-name record read; a longer one is damage."""
MAX_IMAGE_BYTES = 64 << 20
MAX_TEXT_BYTES = 1 << 20
"""Largest image member, and largest caption or JSON member, any stage reads."""
TEXT_EXTENSIONS = ("json", "txt")
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp")
"""Image members of a sample, in the order they are looked for (img2dataset's encode formats)."""
SKIP_CHUNK = 1 << 20

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
COMPRESSED = ((b"\x1f\x8b", gzip.GzipFile), (b"BZh", bz2.BZ2File), (b"\xfd7zXZ\x00", lzma.LZMAFile))


@dataclass(frozen=True)
class Member:
    """Where a member's data lies in the tar."""

    offset: int
    size: int


@dataclass(frozen=True)
class Entry:
    """One member header: its name, tar type, where its data lies, and where its headers start
    (its PAX or long-name record, if any: what tarfile calls the member's offset)."""

    name: str
    kind: bytes
    offset: int
    size: int
    header: int

    @property
    def key_ext(self) -> tuple[str, str]:
        """WebDataset's split: the key is the name up to the first dot of its last part
        (folders kept), the extension the rest, lower-cased; ("", "") without a dot."""
        folder, _, base = self.name.replace("\\", "/").rpartition("/")
        stem, dot, ext = base.partition(".")
        if not dot or not stem:
            return "", ""
        return (f"{folder}/{stem}" if folder else stem), ext.lower()


def limit_for(ext: str) -> int:
    """The size limit of a member with extension `ext`."""
    return MAX_TEXT_BYTES if ext in TEXT_EXTENSIONS else MAX_IMAGE_BYTES


def member_problem(
    entry: Entry, limit: int, file_size: int | None = None, *, flat: bool = True
) -> str | None:
    """Why a member will not be read, or None: a name that leaves its folder (any folder at
    all when `flat`, as in img2dataset's raw tars), a link or device, a size over `limit`,
    data past the end of the file."""
    name = entry.name.replace("\\", "/")
    if flat and "/" in name:
        return "a path, not a flat name (absolute, '..' or a folder)"
    if name.startswith("/") or ".." in name.split("/"):
        return "an absolute or '..' name"
    if entry.kind not in REGULAR_TYPES:
        return f"not a regular file ({TYPE_NAMES.get(entry.kind, f'tar type {entry.kind!r}')})"
    if entry.size > limit:
        return f"declares {entry.size:,} bytes, over the limit of {limit:,}"
    if file_size is not None and entry.offset + entry.size > file_size:
        return f"cut short ({file_size - entry.offset:,} of {entry.size:,} bytes in the tar)"
    return None


class _Prefixed:
    """A stream with bytes already read put back in front (to sniff compression)."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head, self.rest = head, rest

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            data, self.head = self.head + self.rest.read(), b""
            return data
        data, self.head = self.head[:size], self.head[size:]
        if len(data) < size:
            data += self.rest.read(size - len(data))
        return data

    def readable(self) -> bool:
        return True


def open_stream(handle: IO[bytes]) -> IO[bytes]:
    """`handle`, decompressed when it starts with a gzip, bzip2 or xz header."""
    head = handle.read(6)
    source = _Prefixed(head, handle)
    for magic, opener in COMPRESSED:
        if head.startswith(magic):
            return opener(fileobj=source)
    return source


class TarWalk:
    """Iterate the member headers of one tar: `for entry in walk`, reading a member's data
    with `walk.read(entry)` before the next step; `damage` says why the walk ended early (or
    that the tar lacks its end marker). `size` (the file size, when known) lets a seekable
    file be walked by seeking and members past its end be caught before they are read."""

    def __init__(self, handle: IO[bytes], size: int | None = None) -> None:
        self.handle, self.size = handle, size
        self.seekable = size is not None and _seekable(handle)
        self.position = 0
        self.damage: str | None = None
        self._data_end = 0

    def __iter__(self) -> Iterator[Entry]:
        override: dict[str, str] = {}
        offset = start = 0
        while True:
            block = self._block(offset)
            if len(block) < BLOCK:
                if self.damage is None:
                    self.damage = f"tar ends at byte {offset:,} without its end marker"
                return
            if block == ZERO_BLOCK:
                return
            parsed = _parse(block)
            if parsed is None:
                self.damage = self.damage or f"damaged header at byte {offset:,}, skipped"
                offset = start = offset + BLOCK
                continue
            name, size, kind = parsed
            data = offset + BLOCK
            if kind in RECORD_TYPES:
                record = self._record(data, size) if kind in (b"x", b"L") else b""
                if record is None:
                    kind_name = kind.decode(errors="replace")
                    self.damage = f"unusable {kind_name} record at byte {data:,}"
                    return
                if kind == b"x":
                    override = _pax(record)
                elif kind == b"L":
                    override = {"path": _text(record)}
                offset = data + _padded(size)
                continue
            size = int(override.get("size", size))
            entry = Entry(override.get("path", name), kind, data, size, start)
            override = {}
            self._data_end = data + size
            yield entry
            if self.size is not None and data + size > self.size:
                self.damage = self.damage or f"tar cut short inside member {entry.name[:100]!r}"
                return
            offset = start = data + _padded(size)

    def read(self, entry: Entry, limit: int) -> bytes | None:
        """The data of `entry` (the member just yielded), or None when it is over `limit` or
        cut short."""
        if entry.size > limit:
            return None
        if self.seekable:
            self.handle.seek(entry.offset)
        elif self.position != entry.offset:
            return None
        data = self.handle.read(entry.size)
        self.position = entry.offset + len(data)
        if len(data) < entry.size:
            self.damage = self.damage or f"tar cut short inside member {entry.name[:100]!r}"
            return None
        return data

    def _block(self, offset: int) -> bytes:
        if self.seekable:
            self.handle.seek(offset)
            self.position = offset
        elif not self._skip_to(offset):
            return b""
        block = self.handle.read(BLOCK)
        self.position += len(block)
        return block

    def _skip_to(self, offset: int) -> bool:
        """Read and discard up to `offset` (a stream); False when it ends before."""
        while self.position < offset:
            chunk = self.handle.read(min(SKIP_CHUNK, offset - self.position))
            if not chunk:
                self.damage = self.damage or f"tar cut short at byte {self.position:,}"
                return False
            self.position += len(chunk)
        return True

    def _record(self, offset: int, size: int) -> bytes | None:
        """A PAX or GNU long-name record, or None when it is huge or cut short."""
        if size > MAX_RECORD_BYTES or (self.size is not None and offset + size > self.size):
            return None
        if self.seekable:
            self.handle.seek(offset)
        record = self.handle.read(size)
        self.position = offset + len(record)
        return record if len(record) == size else None


def _seekable(handle: IO[bytes]) -> bool:
    try:
        return bool(handle.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _padded(size: int) -> int:
    """Bytes a member's data takes in the tar: its size rounded up to whole blocks."""
    return -(-size // BLOCK) * BLOCK


def _parse(block: bytes) -> tuple[str, int, bytes] | None:
    """(name, size, type) of the header in one block, or None when its checksum or size
    field is invalid."""
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
    return name, size, block[156:157]


def _number(field_bytes: bytes) -> int:
    """A numeric header field: octal text, or GNU base-256 (high bit set)."""
    if field_bytes[0] & 0x80:
        value = int.from_bytes(field_bytes[1:], "big")
        return -value if field_bytes[0] & 0x40 else value
    return int(field_bytes.strip(b" \x00") or b"0", 8)


def _text(raw: bytes) -> str:
    """A NUL-terminated header string (undecodable bytes kept as escapes)."""
    return raw.split(b"\x00", 1)[0].decode("utf-8", "backslashreplace")


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


@dataclass
class TarIndex:
    """A raw tar's members by key and extension; why some keys' members will not be read;
    damage of the tar itself."""

    members: dict[str, dict[str, Member]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    damage: str | None = None


def index_tar(path: Path | str) -> TarIndex:
    """Every member of the (flat, img2dataset-style) tar at `path`, by key and extension; a
    key with an unusable member gets that member's problem instead."""
    index = TarIndex()
    try:
        size = storage.size(path) or 0
        with storage.open_input(path) as handle:
            walk = TarWalk(handle, size)
            for entry in walk:
                _add(index, entry, size)
            index.damage = walk.damage
    except OSError as exc:
        index.damage = f"unreadable: {exc}"
    return index


def _add(index: TarIndex, entry: Entry, file_size: int) -> None:
    """Record one member under its key, or a problem for that key: under the key with its
    folders too, and under the bare key, so that a sample named either way learns why its
    member will not be read."""
    key, ext = entry.key_ext
    if not key:
        return
    problem = member_problem(entry, limit_for(ext), file_size)
    if problem is None:
        index.members.setdefault(key, {}).setdefault(ext, Member(entry.offset, entry.size))
        return
    text = f"{ext} member {entry.name[:100]!r}: {problem}"
    for name in {key, key.rsplit("/", 1)[-1]}:
        index.problems.setdefault(name, text)


def image_member(index: TarIndex, key: str) -> Member | None:
    """The image member of sample `key`, or None when it has none it can read."""
    if key in index.problems:
        return None
    members = index.members.get(key, {})
    return next((members[e] for e in IMAGE_EXTENSIONS if e in members), None)


def read_member(path: Path | str, member: Member) -> bytes:
    """The bytes of one indexed member (one seek, one read; a ranged read on object stores)."""
    with storage.open_input(path) as handle:
        handle.seek(member.offset)
        return handle.read(member.size)

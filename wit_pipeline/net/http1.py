"""One HTTP/1.1 exchange on a socket we own, every read bounded by one deadline.

http.client cannot keep a deadline: it drops `connection.sock` after `getresponse()` for
close-delimited answers (so nothing can cut them), reads chunk-size and trailer lines without
end (each read gets the full socket timeout again), and takes a chunk-size line cut short by
the server for the last chunk (an empty body, called a success). Here every `recv` gets only
what is left of the deadline, every line has a length limit, and a body counts as complete
only when its framing says so: all of its Content-Length, or a chunked body up to the blank
line after the last chunk.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

MAX_LINE = 65536
"""Longest status, header, chunk-size or trailer line (http.client's limit)."""
MAX_HEADERS = 100
"""Most header (or trailer) lines in one answer (http.client's limit)."""
_RECV = 65536


class ProtocolError(Exception):
    """The server broke HTTP/1.1: a bad status line, header or chunk framing."""


class Truncated(Exception):
    """The connection ended before the body its framing announced."""


@dataclass(frozen=True)
class Head:
    """The status line and headers of an answer (names lower-cased, in order)."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        """The first value of header `name`, or None."""
        return next((v for k, v in self.headers if k == name), None)

    def get_all(self, name: str) -> list[str]:
        """Every value of header `name`."""
        return [v for k, v in self.headers if k == name]


class DeadlineStream:
    """Buffered reads from a socket, each `recv` limited to what is left of `deadline`
    (time.monotonic); TimeoutError once it has passed."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.deadline = sock, deadline
        self._buffer = bytearray()
        self._eof = False

    def _fill(self) -> bool:
        """Read more into the buffer; False at the end of the stream."""
        if self._eof:
            return False
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        self.sock.settimeout(left)
        data = self.sock.recv(_RECV)
        if not data:
            self._eof = True
            return False
        self._buffer += data
        return True

    def readline(self, limit: int = MAX_LINE) -> bytes:
        """One line with its LF, or what is left before the end of the stream (no LF);
        ProtocolError when the line is longer than `limit`."""
        start = 0
        while True:
            end = self._buffer.find(b"\n", start)
            if end >= 0:
                if end + 1 > limit:
                    raise ProtocolError(f"line over {limit} bytes")
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) > limit:
                raise ProtocolError(f"line over {limit} bytes")
            start = len(self._buffer)
            if not self._fill():
                line = bytes(self._buffer)
                self._buffer.clear()
                return line

    def read(self, size: int) -> bytes:
        """Up to `size` bytes (at least one unless the stream ended): buffered ones first."""
        if not self._buffer:
            self._fill()
        piece = bytes(self._buffer[:size])
        del self._buffer[:size]
        return piece


def request_bytes(target: str, host: str, headers: dict[str, str]) -> bytes:
    """A GET request for `target` (ASCII: percent-encoded) with `Connection: close`."""
    if not target.isascii() or any(c in target for c in " \r\n\t"):
        raise ValueError(f"request target is not encoded: {target[:200]!r}")
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["Connection: close", "", ""]
    return "\r\n".join(lines).encode("ascii")


def _line(stream: DeadlineStream, what: str) -> bytes:
    line = stream.readline()
    if not line.endswith(b"\n"):
        if what == "status line":
            raise ProtocolError("connection closed without a complete status line")
        raise Truncated(f"connection ended inside the {what}")
    return line.rstrip(b"\r\n")


def _fields(stream: DeadlineStream, what: str) -> list[tuple[str, str]]:
    """Header (or trailer) lines up to the blank line, folded lines joined."""
    fields: list[tuple[str, str]] = []
    while line := _line(stream, what):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, f"{value} {line.strip().decode('latin-1')}")
            continue
        if len(fields) >= MAX_HEADERS:
            raise ProtocolError(f"more than {MAX_HEADERS} {what} lines")
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon or not name or name != name.strip():
            raise ProtocolError(f"bad {what} line {line[:80]!r}")
        fields.append((name.lower(), value.strip()))
    return fields


def read_head(stream: DeadlineStream) -> Head:
    """The status line and headers of the answer (1xx interim answers skipped)."""
    while True:
        line = _line(stream, "status line").decode("latin-1")
        version, _, rest = line.partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise ProtocolError(f"bad status line {line[:80]!r}")
        headers = tuple(_fields(stream, "header"))
        if not 100 <= int(code) < 200:
            return Head(int(code), reason.strip(), headers)


def _content_length(head: Head) -> int | None:
    values = {v.strip() for value in head.get_all("content-length") for v in value.split(",")}
    if not values:
        return None
    if len(values) > 1 or not all(v.isascii() and v.isdigit() for v in values):
        raise ProtocolError(f"bad Content-Length {sorted(values)[:3]}")
    return int(values.pop())


def is_chunked(head: Head) -> bool:
    """Whether the body is chunked (the last transfer coding is `chunked`)."""
    codings = [c.strip().lower() for v in head.get_all("transfer-encoding") for c in v.split(",")]
    return bool(codings) and codings[-1] == "chunked"


def declared_length(head: Head) -> int | None:
    """The body length a Content-Length announces (None for chunked or close-delimited
    bodies); ProtocolError for a malformed or conflicting one."""
    if head.get("transfer-encoding") is not None:
        return None
    return _content_length(head)


def _chunk_size(stream: DeadlineStream) -> int:
    line = _line(stream, "chunk-size line")
    size = line.split(b";", 1)[0].strip()
    if not size or len(size) > 16 or not all(c in b"0123456789abcdefABCDEF" for c in size):
        raise ProtocolError(f"bad chunk-size line {line[:80]!r}")
    return int(size, 16)


def _chunked(stream: DeadlineStream) -> Iterator[bytes]:
    while size := _chunk_size(stream):
        while size:
            piece = stream.read(min(size, _RECV))
            if not piece:
                raise Truncated("connection ended inside a chunk")
            size -= len(piece)
            yield piece
        if _line(stream, "chunk") != b"":
            raise ProtocolError("chunk data longer than its size")
    _fields(stream, "trailer")


def _sized(stream: DeadlineStream, length: int) -> Iterator[bytes]:
    left = length
    while left:
        piece = stream.read(min(left, _RECV))
        if not piece:
            raise Truncated(f"body ended at {length - left} of {length} bytes")
        left -= len(piece)
        yield piece


def _until_close(stream: DeadlineStream) -> Iterator[bytes]:
    while piece := stream.read(_RECV):
        yield piece


def body_pieces(stream: DeadlineStream, head: Head) -> Iterator[bytes]:
    """The body of the answer, piece by piece, framed as its headers say (RFC 9112 6.3):
    chunked, Content-Length, or up to the end of the connection. Truncated when the
    connection ends early, ProtocolError on bad framing, TimeoutError at the deadline."""
    if is_chunked(head):
        return _chunked(stream)
    length = declared_length(head)
    return _until_close(stream) if length is None else _sized(stream, length)

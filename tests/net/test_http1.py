"""The bounded HTTP/1.1 reader on real socket pairs: a body is complete only when its framing
says so, every line has a limit, and every read ends by the deadline."""

import socket
import threading
import time

import pytest

from wit_pipeline.net import http1

HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


def _read(answer: bytes, seconds: float = 2.0) -> bytes:
    """The body the reader takes from a peer that sends `answer` and hangs up."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(answer)
        theirs.shutdown(socket.SHUT_WR)
        stream = http1.DeadlineStream(ours, time.monotonic() + seconds)
        head = http1.read_head(stream)
        return b"".join(http1.body_pieces(stream, head))


def test_chunked_bodies_with_extensions_and_trailers():
    body = b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n"
    assert _read(HEAD + body) == b"hello world"


def test_interim_answers_are_skipped_and_lengths_obeyed():
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef"
    assert _read(answer) == b"abc"
    assert _read(b"HTTP/1.0 200 OK\r\n\r\nuntil the end") == b"until the end"


@pytest.mark.parametrize(
    "answer",
    [
        HEAD + b"0",  # the last chunk-size line cut short: not an empty body
        HEAD + b"5\r\nhel",
        HEAD + b"5\r\nhello\r\n0\r\nX-Sum: 1\r\n",  # the trailer never closed
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nContent-Le",
    ],
)
def test_a_body_cut_short_is_truncated(answer):
    with pytest.raises(http1.Truncated):
        _read(answer)


@pytest.mark.parametrize(
    "answer",
    [
        HEAD + b"zz\r\n",
        HEAD + b"5;" + b"x" * (http1.MAX_LINE + 1),
        HEAD + b"0\r\n" + b"X-T: y\r\n" * (http1.MAX_HEADERS + 1),
        HEAD + b"2\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"",
    ],
)
def test_broken_framing_is_a_protocol_error(answer):
    with pytest.raises(http1.ProtocolError):
        _read(answer)


def test_every_read_ends_by_the_deadline():
    ours, theirs = socket.socketpair()
    stop = threading.Event()

    def drip() -> None:
        theirs.sendall(HEAD + b"1")
        while not stop.wait(0.05):
            theirs.sendall(b"0")

    dripper = threading.Thread(target=drip)
    dripper.start()
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        stream = http1.DeadlineStream(ours, start + 0.5)
        b"".join(http1.body_pieces(stream, http1.read_head(stream)))
    assert time.monotonic() - start < 1.5
    stop.set()
    dripper.join()
    ours.close()
    theirs.close()


def test_requests_must_be_encoded():
    request = http1.request_bytes("/a%20b?q=1", "h:81", {"Accept": "*/*"})
    assert request.startswith(b"GET /a%20b?q=1 HTTP/1.1\r\nHost: h:81\r\n")
    assert request.endswith(b"Connection: close\r\n\r\n")
    with pytest.raises(ValueError):
        http1.request_bytes("/a b", "h", {})

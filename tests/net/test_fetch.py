"""The fetcher against real loopback servers: X-Robots-Tag parsing, invalid URLs, and the
hostile server's routes: one deadline per attempt over every chunk, hop and robots.txt; URLs
requested as a browser would; the per-host cap keyed by address, however the host is spelt."""

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from wit_pipeline.net.fetch import TRANSIENT_CODES, Fetcher, FetchOptions, x_robots_forbids
from wit_pipeline.testweb.hostile import CAFE_PATH, LOOPBACK_SPELLINGS, HostileServer

DEADLINE = 1.0
MARGIN = 1.5
"""Seconds a fetch may run past its deadline on a loaded 2-core machine (a hung one runs for
the server's HOLD_SECONDS, 30)."""


def _fetcher(**overrides) -> Fetcher:
    options = {"timeout": DEADLINE, "retries": 0, "allow_private_networks": True, **overrides}
    return Fetcher(FetchOptions(**options))


@pytest.fixture(scope="module")
def hostile():
    with HostileServer() as server:
        yield server


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["noai"], "noai"),
        (["noindex, nofollow"], "noindex"),
        (["googlebot: noimageindex"], None),
        (["wit-pipeline: noimageai"], "noimageai"),
        (["*: noai"], "noai"),
        (["nofollow", "noarchive"], None),
        (["none"], "none"),
        (["max-image-preview: none, noimageindex"], "noimageindex"),
        (["unavailable_after: 25 Jun 2010 15:00:00 PST, noindex"], "noindex"),
        (["unavailable_after: 25 Jun 2010 15:00:00 PST"], None),
        (["NoImageAI"], "noimageai"),
    ],
)
def test_x_robots_tag(values, expected):
    assert x_robots_forbids(values) == expected


def test_x_robots_tag_user_agent_token_and_directives():
    """img2dataset's user_agent_token and disallowed_header_directives."""
    assert x_robots_forbids(["mytoken: noai"]) is None
    assert x_robots_forbids(["mytoken: noai"], ("wit-pipeline", "mytoken")) == "noai"
    assert x_robots_forbids(["noindex"], disallowed=("noai",)) is None
    assert x_robots_forbids(["noai"], disallowed=()) is None
    options = FetchOptions(user_agent_token="mytoken")
    assert options.agent.endswith("(compatible; mytoken)")


def test_invalid_urls_fail_without_network():
    fetcher = Fetcher(FetchOptions(retries=3))
    urls = ("ftp://x/y.jpg", "http://", "http://h:99999/x", "http://exa mple.org/a.jpg")
    for url in (*urls, "http://[::1/x.jpg", "http://example.org/\ud800.jpg"):
        result = fetcher.fetch(url)
        assert (result.error_code, result.attempts) == ("invalid_url", 1), url
    assert "invalid_url" not in TRANSIENT_CODES


def _dripping_server(chunks: list[bytes], pause: float) -> tuple[str, threading.Thread]:
    """A raw TCP server on 127.0.0.1 sending `chunks` with a pause between each, once."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        with connection, listener:
            connection.recv(65536)
            for chunk in chunks:
                try:
                    connection.sendall(chunk)
                except OSError:
                    return
                time.sleep(pause)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/x.jpg", thread


@pytest.mark.parametrize(
    "chunks",
    [
        [b"HTTP/1.1 200 OK\r\n"] + [f"X-Header-{i}: v\r\n".encode() for i in range(40)],
        [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"] + [b"1"] * 40,
    ],
    ids=["headers-drip", "chunk-size-drip"],
)
def test_the_deadline_bounds_the_whole_request(chunks):
    url, thread = _dripping_server(chunks, pause=0.2)
    fetcher = Fetcher(
        FetchOptions(timeout=1.0, retries=0, allow_private_networks=True, respect_robots=False)
    )
    start = time.monotonic()
    result = fetcher.fetch(url)
    assert result.error_code == "timeout"
    assert time.monotonic() - start < 2.5
    thread.join(timeout=10)


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/chunked/size-line-drip.jpg", "timeout"),
        ("/chunked/extension-drip.jpg", "timeout"),
        ("/chunked/trailer-flood.jpg", "connection_error"),
        ("/chunked/cut-size-line.jpg", "timeout"),
    ],
)
def test_a_chunked_answer_cannot_hold_or_fool_the_fetch(hostile, path, code):
    """Behind Connection: close, http.client's chunked reader read size lines, extensions and
    trailers without end; with keep-alive, a cut size line `0` came back as an empty success."""
    start = time.monotonic()
    result = _fetcher().fetch(hostile.url(path))
    assert (result.ok, result.error_code) == (False, code), result
    assert time.monotonic() - start < DEADLINE + MARGIN


def test_one_deadline_covers_every_hop_and_every_robots_txt():
    """Six origins (six spellings of 127.0.0.1) chained by redirects, each with a robots.txt
    of five slow redirects: one deadline, not one per request (which took 55 s)."""
    with HostileServer(robots_hops=5, robots_hop_seconds=0.3) as slow_robots:
        start = time.monotonic()
        result = _fetcher().fetch(slow_robots.url("/hop/0/x.jpg"))
        assert result.error_code == "timeout"
        assert time.monotonic() - start < DEADLINE + MARGIN
        patient = _fetcher(timeout=30.0).fetch(slow_robots.url("/hop/0/x.jpg"))
        assert patient.ok, "a robots.txt cut by a deadline must not be cached as missing"
        hosts = {host.rsplit(":", 1)[0] for host, target in slow_robots.requests}
        assert hosts == set(LOOPBACK_SPELLINGS)


def test_a_redirect_chain_over_six_origins_ends_within_the_deadline(hostile):
    result = _fetcher().fetch(hostile.url("/hop/0/x.jpg"))
    assert result.ok and result.final_url == hostile.url("/hop/5/x.jpg", LOOPBACK_SPELLINGS[5])


def test_urls_are_requested_percent_encoded(hostile):
    result = _fetcher().fetch(hostile.url("/images/café au lait.jpg"))
    assert result.ok, result
    assert hostile.targets()[-1] == CAFE_PATH


def test_the_per_host_cap_holds_across_spellings_of_one_host():
    """24 URLs on six spellings of one address with a cap of 4: at most 4 connections at once
    (keyed by spelling, it was 24). The server may see one more while a finished handler
    closes."""
    with HostileServer(slow_seconds=0.3) as server:
        urls = [server.url(f"/slow/{i}.jpg", LOOPBACK_SPELLINGS[i % 6]) for i in range(24)]
        fetcher = _fetcher(timeout=30.0, max_per_host=4)
        with ThreadPoolExecutor(24) as pool:
            results = list(pool.map(fetcher.fetch, urls))
        assert all(r.ok for r in results)
        assert server.peak <= 4 + 1

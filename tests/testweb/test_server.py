"""WebServer: loopback only, free ports, threaded, and a prompt stop even mid-drip."""

import socket
import time

import pytest
import requests

from wit_pipeline.testweb import WebServer

from .helpers import raw_request, rows_of


def test_port_zero_picks_distinct_free_ports(testweb_web):
    with WebServer(testweb_web) as first, WebServer(testweb_web) as second:
        assert first.port != second.port
        assert first.base_url == first.origin + "/" == f"http://127.0.0.1:{first.port}/"
        assert requests.get(second.url("/index.html"), timeout=5).status_code == 200


def test_an_explicit_port_is_used(testweb_web):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with WebServer(testweb_web, port=port) as server:
        assert server.port == port
        assert requests.get(server.base_url, timeout=5).status_code == 200


def test_binds_loopback_127_0_0_1_only(testweb):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", testweb.port), timeout=2)


def test_query_strings_are_ignored(testweb):
    response = requests.get(testweb.url("/index.html?utm_source=test"), timeout=5)
    assert response.status_code == 200
    assert "Synthetic Shapes" in response.text


def test_serves_others_while_a_drip_is_running(testweb, testweb_truth):
    [drip] = rows_of(testweb_truth, "drip")
    with raw_request(testweb.port, drip["path"]) as sock:
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        start = time.monotonic()
        assert requests.get(testweb.base_url, timeout=5).status_code == 200
        assert time.monotonic() - start < 1.0


def test_stop_is_prompt_during_a_drip_and_ends_it(testweb_web):
    server = WebServer(testweb_web).start()
    port = server.port
    [drip] = rows_of(testweb_web.ground_truth(server.origin).to_pylist(), "drip")
    with raw_request(port, drip["path"], timeout=3) as sock:
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        start = time.monotonic()
        server.stop()
        assert time.monotonic() - start < 2.5
        try:
            rest = b"".join(iter(lambda: sock.recv(4096), b""))
        except ConnectionResetError:
            rest = b""
        assert len(rest) <= 2
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_stopped_server_refuses_use(testweb_web):
    server = WebServer(testweb_web).start()
    server.stop()
    server.stop()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.origin


def test_starting_twice_is_an_error(testweb_web):
    with WebServer(testweb_web) as server, pytest.raises(RuntimeError, match="already running"):
        server.start()

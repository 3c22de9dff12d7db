"""Every fault kind, hit with a real HTTP client: status, headers and timing as promised."""

import http.client
import io
import time
import urllib.robotparser

import pytest
import requests
from PIL import Image, UnidentifiedImageError

from .helpers import decoded, raw_request, rows_of, split_response


def _expect_image(row, body):
    assert decoded(body) == (row["format"], row["width"], row["height"], row["mode"])


@pytest.mark.parametrize(
    ("kind", "status"),
    [("not_found", 404), ("gone", 410), ("server_error", 500), ("unavailable", 503)],
)
def test_status_faults(testweb_truth, kind, status):
    for row in rows_of(testweb_truth, kind):
        response = requests.get(row["url"], timeout=5)
        assert response.status_code == status == row["http_status"]
        assert response.headers["Content-Type"].startswith("text/html")
        assert str(status) in response.text


def test_unknown_path_is_404(testweb):
    assert requests.get(testweb.url("/img/no-such-image.jpg"), timeout=5).status_code == 404


def test_rate_limited_succeeds_once_the_client_waited(fresh_testweb, testweb_web):
    [row] = rows_of(testweb_web.ground_truth(fresh_testweb.origin).to_pylist(), "rate_limited")
    first = requests.get(row["url"], timeout=5)
    assert first.status_code == 429 == row["http_status"]
    assert first.headers["Retry-After"] == "1"
    too_early = requests.get(row["url"], timeout=5)
    assert too_early.status_code == 429
    assert int(too_early.headers["Retry-After"]) >= 1
    time.sleep(1.2)
    waited = requests.get(row["url"], timeout=5)
    assert waited.status_code == 200
    _expect_image(row, waited.content)
    assert requests.get(row["url"], timeout=5).status_code == 429


def test_slow_first_byte_times_out_a_short_client(testweb_truth):
    [row] = rows_of(testweb_truth, "slow_first_byte")
    start = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        requests.get(row["url"], timeout=(2, 0.5))
    assert 0.4 <= time.monotonic() - start < 1.9


def test_slow_first_byte_serves_a_patient_client(testweb_truth, testweb_config):
    [row] = rows_of(testweb_truth, "slow_first_byte")
    start = time.monotonic()
    response = requests.get(row["url"], timeout=10)
    assert time.monotonic() - start >= testweb_config.slow_seconds * 0.9
    assert response.status_code == 200
    _expect_image(row, response.content)


def test_drip_sends_a_byte_a_second_and_gives_up_after_drip_seconds(testweb, testweb_truth):
    [row] = rows_of(testweb_truth, "drip")
    start = time.monotonic()
    data = b""
    with raw_request(testweb.port, row["path"], timeout=8) as sock:
        while chunk := sock.recv(65536):
            data += chunk
    ended = time.monotonic() - start
    status, headers, body = split_response(data)
    assert status == 200
    assert 2.0 <= ended <= 6.0
    assert 1 <= len(body) <= 5 < int(headers["content-length"])


def test_drip_fails_a_client_with_a_read_timeout(testweb_truth):
    [row] = rows_of(testweb_truth, "drip")
    start = time.monotonic()
    with pytest.raises((requests.ConnectionError, requests.Timeout)):
        requests.get(row["url"], timeout=(2, 0.5))
    assert time.monotonic() - start < 2.0


def test_drip_stops_when_the_client_hangs_up(fresh_testweb, testweb_web):
    row = rows_of(testweb_web.ground_truth(fresh_testweb.origin).to_pylist(), "drip")[0]
    with raw_request(fresh_testweb.port, row["path"]) as sock:
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        assert fresh_testweb.open_connections() == 1
    deadline = time.monotonic() + 2.5
    while fresh_testweb.open_connections() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fresh_testweb.open_connections() == 0


@pytest.mark.parametrize("kind", ["huge_body", "huge_body_chunked"])
def test_huge_bodies_stream_far_past_any_cap(fresh_testweb, testweb_web, testweb_config, kind):
    [row] = rows_of(testweb_web.ground_truth(fresh_testweb.origin).to_pylist(), kind)
    with requests.get(row["url"], timeout=5, stream=True) as response:
        assert response.status_code == 200
        if kind == "huge_body":
            assert response.headers["Content-Length"] == str(testweb_config.huge_bytes)
        else:
            assert response.headers["Transfer-Encoding"] == "chunked"
            assert "Content-Length" not in response.headers
        received = b""
        for chunk in response.iter_content(65536):
            received += chunk
            if len(received) >= 4 * 2**20:
                break
    assert received.startswith(b"\xff\xd8")
    deadline = time.monotonic() + 2.5
    while fresh_testweb.open_connections() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fresh_testweb.open_connections() == 0


def test_truncated_body_stops_short_of_its_content_length(testweb, testweb_truth, testweb_web):
    [row] = rows_of(testweb_truth, "truncated")
    full = testweb_web.image_bytes(row["image_id"])
    connection = http.client.HTTPConnection("127.0.0.1", testweb.port, timeout=5)
    connection.request("GET", row["path"])
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Length") == str(len(full))
    with pytest.raises(http.client.IncompleteRead) as error:
        response.read()
    assert error.value.partial == full[: len(full) // 2]
    connection.close()


def test_html_served_as_an_image(testweb_truth):
    [row] = rows_of(testweb_truth, "html_as_image")
    response = requests.get(row["url"], timeout=5)
    assert row["path"].endswith(".jpg")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.content.startswith(b"<!DOCTYPE html>")
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(response.content))


def test_corrupt_image_bytes_do_not_decode(testweb_truth):
    [row] = rows_of(testweb_truth, "corrupt_image")
    response = requests.get(row["url"], timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.content.startswith(b"\xff\xd8")
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(response.content))


def test_decompression_bomb_declares_40000_square(testweb_truth, monkeypatch):
    [row] = rows_of(testweb_truth, "decompression_bomb")
    response = requests.get(row["url"], timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert len(response.content) < 200
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(response.content))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "PNG"
        assert image.size == (row["width"], row["height"]) == (40000, 40000)
        assert image.mode == row["mode"]


def test_redirect_chain_ends_at_the_image(testweb, testweb_truth):
    [row] = rows_of(testweb_truth, "redirect_ok")
    response = requests.get(row["url"], timeout=5)
    assert [r.status_code for r in response.history] == [301, 302, 307]
    assert response.url == testweb.url(row["final_path"])
    assert response.status_code == 200
    _expect_image(row, response.content)
    first = requests.get(row["url"], timeout=5, allow_redirects=False)
    assert first.headers["Location"].startswith(testweb.origin + "/fault/redirect_ok/")
    second = requests.get(first.headers["Location"], timeout=5, allow_redirects=False)
    assert second.headers["Location"].startswith("/fault/redirect_ok/")


def test_redirect_loop_never_ends(testweb, testweb_truth):
    [row] = rows_of(testweb_truth, "redirect_loop")
    with pytest.raises(requests.TooManyRedirects):
        requests.get(row["url"], timeout=5)
    first = requests.get(row["url"], timeout=5, allow_redirects=False)
    assert first.status_code == 302
    second = requests.get(testweb.url(first.headers["Location"]), timeout=5, allow_redirects=False)
    assert second.headers["Location"] == row["url"]


@pytest.mark.parametrize("kind", ["noai", "noimageai"])
def test_x_robots_tag_opt_outs(testweb_truth, kind):
    [row] = rows_of(testweb_truth, kind)
    response = requests.get(row["url"], timeout=5)
    assert response.status_code == 200
    assert response.headers["X-Robots-Tag"] == kind
    _expect_image(row, response.content)


def test_robots_txt_disallows_the_private_path(testweb, testweb_truth):
    robots = requests.get(testweb.url("/robots.txt"), timeout=5)
    assert "Disallow: /private/" in robots.text
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(robots.text.splitlines())
    [row] = rows_of(testweb_truth, "robots_disallowed")
    assert not parser.can_fetch("wit-pipeline", row["url"])
    assert all(parser.can_fetch("wit-pipeline", r["url"]) for r in rows_of(testweb_truth, "ok"))
    response = requests.get(row["url"], timeout=5)
    assert response.status_code == 200
    _expect_image(row, response.content)


def test_connection_reset_is_a_real_reset(testweb, testweb_truth):
    [row] = rows_of(testweb_truth, "connection_reset")
    with raw_request(testweb.port, row["path"]) as sock, pytest.raises(ConnectionResetError):
        sock.recv(4096)
    with pytest.raises(requests.ConnectionError):
        requests.get(row["url"], timeout=5)

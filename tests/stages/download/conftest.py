"""Fixtures of the download tests: URL lists made from the test web's ground truth."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.workspaces import write_urls
from wit_pipeline.testweb import WebServer

EXPECTED_CODE = {
    "ok": None,
    "rate_limited": None,
    "redirect_ok": None,
    "not_found": "http_404",
    "gone": "http_410",
    "server_error": "http_500",
    "unavailable": "http_503",
    "slow_first_byte": "timeout",
    "drip": "timeout",
    "huge_body": "too_large",
    "huge_body_chunked": "too_large",
    "truncated": "truncated",
    "html_as_image": "not_an_image",
    "corrupt_image": "decode_error",
    "decompression_bomb": "too_many_pixels",
    "redirect_loop": "too_many_redirects",
    "noai": "x_robots_tag",
    "noimageai": "x_robots_tag",
    "robots_disallowed": "robots",
    "connection_reset": "connection_error",
}
"""The error_code every test web kind must end with (None: a successful sample)."""


@pytest.fixture(scope="module")
def every_kind_server(testweb_web) -> Iterator[WebServer]:
    """A test web server of the module's own, so its rate-limit state starts fresh."""
    with WebServer(testweb_web) as server:
        yield server


@pytest.fixture(scope="module")
def every_kind_urls(tmp_path_factory, every_kind_server, testweb_web) -> tuple[Path, list[dict]]:
    """Every URL of the test web, as a parquet input, with the ground-truth rows."""
    rows = testweb_web.ground_truth(every_kind_server.origin).to_pylist()
    return write_urls(tmp_path_factory.mktemp("input") / "urls.parquet", rows), rows

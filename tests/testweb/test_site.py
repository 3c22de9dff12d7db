"""The static site: byte-identical for one seed, complete, and servable by any static server."""

import functools
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import requests

from wit_pipeline.testweb import SyntheticWeb, WebConfig

from .helpers import decoded, image_refs

ORIGIN = "http://127.0.0.1:8000"


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_one_seed_writes_byte_identical_sites(tmp_path, testweb_config):
    SyntheticWeb(testweb_config).write(tmp_path / "a", ORIGIN)
    SyntheticWeb(testweb_config).write(tmp_path / "b", ORIGIN)
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert len(first) > 40
    assert first == second


def test_another_seed_writes_another_site(tmp_path, testweb_config, testweb_web):
    testweb_web.write(tmp_path / "a", ORIGIN)
    other = WebConfig(**(testweb_config.as_dict() | {"seed": 1}))
    SyntheticWeb(other).write(tmp_path / "b", ORIGIN)
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert first["ground_truth.parquet"] != second["ground_truth.parquet"]
    assert first["pages/page-0000.html"] != second["pages/page-0000.html"]
    shared = [name for name in first if name.startswith("img/") and name in second]
    assert sum(first[name] != second[name] for name in shared) >= len(shared) * 0.9


def test_written_files_match_the_model(tmp_path, testweb_web):
    summary = testweb_web.write(tmp_path, ORIGIN)
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert summary["origin"] == ORIGIN
    assert summary["urls"] == sum(summary["kinds"].values()) == len(testweb_web.plan.images)
    truth = pq.read_table(tmp_path / "ground_truth.parquet")
    assert truth.equals(testweb_web.ground_truth(ORIGIN))
    for row in truth.to_pylist():
        if row["kind"] == "ok":
            body = (tmp_path / row["path"].lstrip("/")).read_bytes()
            assert body == testweb_web.image_bytes(row["image_id"])
    faults = json.loads((tmp_path / "faults.json").read_text())
    fault_paths = {route["path"] for route in faults["routes"]}
    assert {r["path"] for r in truth.to_pylist() if r["kind"] != "ok"} <= fault_paths
    assert faults["timing"]["retry_after"] == testweb_web.config.retry_after
    assert "Disallow: /private/" in (tmp_path / "robots.txt").read_text()


def test_summary_and_description(testweb_web):
    summary = testweb_web.summary()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["seed"] == 0 and summary["pages"] == 4
    assert set(summary["formats"]) == {"jpeg", "png", "webp", "gif"}
    assert summary["noise"]["too_small"] == 2
    text = testweb_web.describe()
    assert text.startswith("synthetic web (seed 0): 4 pages")
    assert f"{summary['urls']} image URLs" in text
    assert "decompression_bomb 1" in text


@pytest.mark.parametrize("origin", ["127.0.0.1:8000", "http://127.0.0.1:8000/", "ftp://x"])
def test_bad_origins_are_rejected(testweb_web, tmp_path, origin):
    with pytest.raises(ValueError, match="origin must look like"):
        testweb_web.write(tmp_path, origin)


class _QuietStaticHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        """No request log in test output."""


def test_a_plain_static_server_serves_the_written_site(tmp_path, testweb_web):
    handler = functools.partial(_QuietStaticHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    testweb_web.write(tmp_path, origin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        truth = {row["url"]: row for row in testweb_web.ground_truth(origin).to_pylist()}
        page = origin + testweb_web.plan.pages[1].path
        refs = image_refs(page, requests.get(page, timeout=5).text)
        ok = [truth[ref.url] for ref in refs if truth[ref.url]["kind"] == "ok"]
        assert len(ok) >= 4
        for row in ok:
            body = requests.get(row["url"], timeout=5).content
            assert decoded(body) == (row["format"], row["width"], row["height"], row["mode"])
    finally:
        server.shutdown()
        server.server_close()

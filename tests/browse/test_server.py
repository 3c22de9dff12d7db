"""The browse server over HTTP on loopback: pages, the JSON API, images, bad requests, and
safety: GET only, workspace files only, every caption and URL escaped."""

import json
import shutil
import threading
import urllib.error
import urllib.request

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit_pipeline.browse import Filters, Index
from wit_pipeline.browse.server import BrowseServer

HOSTILE_CAPTION = '<script>alert("x")</script> & "quotes" <img src=x onerror=alert(1)>'
HOSTILE_URL = "javascript:alert(1)//<b>"


def get(server, path: str, method: str = "GET") -> tuple[int, dict, bytes]:
    request = urllib.request.Request(server.url.rstrip("/") + path, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_listing_and_funnel_pages(served, index):
    status, headers, body = get(served, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert f"{index.size:,} samples match" in body.decode()
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    status, _, body = get(served, "/funnel")
    assert status == 200
    kept = index.count(Filters(keep=True))
    assert f'data-step="kept" data-count="{kept}"' in body.decode()


def test_api_search_is_what_the_index_answers(served, index):
    status, headers, body = get(served, "/api/search?q=star&in=captions&k=5&keep=dropped")
    assert status == 200 and headers["Content-Type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in body.decode().splitlines()]
    expected = index.captions("star", Filters(keep=False), k=5)
    assert [r["key"] for r in rows] == [r.item["key"] for r in expected]
    assert rows and all(r["keep"] is False and r["match"] == "caption" for r in rows)


def test_sample_page_and_its_image(served, index):
    item = index.page(Filters(step="downloaded"), 0, 1)[0].item
    status, _, body = get(served, f"/sample?key={item['key']}")
    assert status == 200 and 'data-field="reason"' in body.decode()
    status, headers, data = get(served, f"/image?key={item['key']}")
    assert status == 200 and headers["Content-Type"].startswith("image/")
    assert data == index.images.read(item["shard"], item["key"])[0]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/nope", 404),
        ("/sample?key=nope", 404),
        ("/image?key=../../decisions.parquet", 404),
        ("/?min_side=abc", 400),
        ("/?keep=maybe", 400),
        ("/?step=nope", 400),
        ("/?in=everywhere&q=x", 400),
        ("/?min_score=nan", 400),
    ],
)
def test_bad_requests_get_one_line(served, path, status):
    code, _, body = get(served, path)
    assert code == status
    assert body.count(b'id="error"') == 1 or body == b"no image"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_no_write_endpoints(served, method):
    assert get(served, "/", method)[0] == 501


@pytest.fixture(scope="module")
def hostile_server(browse_workspace, tmp_path_factory):
    """A copy of the workspace whose first raw sample has a caption and URL made to inject."""
    workspace = type(browse_workspace)(tmp_path_factory.mktemp("hostile") / "w")
    shutil.copytree(browse_workspace.root, workspace.root)
    path = workspace.raw_dir / "00000.parquet"
    table = pq.read_table(path)
    captions = [HOSTILE_CAPTION, *table.column("caption").to_pylist()[1:]]
    urls = [HOSTILE_URL, *table.column("url").to_pylist()[1:]]
    table = table.set_column(table.schema.get_field_index("caption"), "caption", pa.array(captions))
    table = table.set_column(table.schema.get_field_index("url"), "url", pa.array(urls))
    pq.write_table(table, path)
    with Index.open(workspace) as index:
        server = BrowseServer(index, "127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield server, table.column("key")[0].as_py()
        server.shutdown()
        server.server_close()


def test_captions_and_urls_are_escaped(hostile_server):
    server, key = hostile_server
    for path in ("/", f"/sample?key={key}", "/?q=script&in=captions"):
        page = get(server, path)[2].decode()
        assert "<script" not in page and "<img src=x" not in page
        assert 'href="javascript:' not in page
    page = get(server, f"/sample?key={key}")[2].decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "javascript:alert(1)//&lt;b&gt;" in page


def test_ipv6_loopback(index):
    server = BrowseServer(index, "::1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert server.url.startswith("http://[::1]:")
        assert get(server, "/funnel")[0] == 200
    finally:
        server.shutdown()
        server.server_close()

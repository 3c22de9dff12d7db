"""Helpers shared by the stage tests: quick download settings and URL lists from ground truth."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from wit_pipeline.stages.download import DownloadOptions, FetchOptions

FAST = DownloadOptions(
    fetch=FetchOptions(timeout=1.0, retries=1, backoff=0.05, allow_private_networks=True),
    threads=16,
    processes=1,
    progress=False,
)
"""Download settings for the test web: a 1 s deadline, one retry, loopback allowed."""


def write_urls(path: Path, rows: list[dict]) -> Path:
    """A url/caption parquet of ground-truth rows (true captions)."""
    table = pa.table(
        {
            "url": [r["url"] for r in rows],
            "caption": [r["true_caption"] or "a caption" for r in rows],
        }
    )
    pq.write_table(table, path)
    return path


@contextmanager
def page_server(body: bytes) -> Iterator[str]:
    """One HTML page served at http://127.0.0.1:PORT/ (404 for any other path); yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body) if found else 0))
            self.end_headers()
            if found:
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()

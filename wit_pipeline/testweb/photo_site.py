"""A loopback site that publishes real photographs again, each as it is and once per edit of
`photo_edits.EDITS`: what the real-photo dedupe benchmark and tests download."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image

from .photo_edits import EDITS

Site = dict[str, tuple[bytes, str, str]]
"""URL path -> (body, picture, edit)."""

TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "html": "text/html; charset=utf-8",
}


def load_photos(folders: list[Path]) -> dict[str, bytes]:
    """Every JPEG and PNG in `folders`, by name (folder/stem), in name order."""
    photos = {}
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in (".jpg", ".jpeg", ".png"):
                photos[f"{folder.name}/{path.stem}"] = path.read_bytes()
    return photos


def publish(photos: dict[str, bytes], edits: tuple[str, ...] | None = None) -> Site:
    """Each photo as it is (`original`), then once per edit (every edit when None); paths sort
    the original first, as it was published first."""
    site: Site = {}
    for number, (name, data) in enumerate(photos.items()):
        original = Image.open(io.BytesIO(data)).convert("RGB")
        suffix = "png" if data[:4] == b"\x89PNG" else "jpg"
        site[f"/{number}/00-original.{suffix}"] = (data, name, "original")
        for order, edit in enumerate(edits or tuple(EDITS), 1):
            body = EDITS[edit](original)
            ext = "webp" if body[:4] == b"RIFF" else "jpg"
            site[f"/{number}/{order:02d}-{edit}.{ext}"] = (body, name, edit)
    return site


@contextmanager
def serve(site: Site) -> Iterator[str]:
    """The site on an HTTP server bound to 127.0.0.1 (any free port); yields its origin."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            entry = site.get(self.path)
            if entry is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", TYPES[self.path.rsplit(".", 1)[1]])
            self.send_header("Content-Length", str(len(entry[0])))
            self.end_headers()
            self.wfile.write(entry[0])

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

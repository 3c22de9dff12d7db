"""The scale study's test web: every image rendered once into a disk cache (in parallel), then
served by the project's own WebServer from that cache in a process of its own, so rendering
neither slows the download stage nor counts in its memory.

    python benchmarks/scale_web.py render --pages 12500 --cache DIR [--processes 2]
    python benchmarks/scale_web.py serve --pages 12500 --cache DIR   # prints the origin
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from wit_pipeline.testweb import SyntheticWeb, WebConfig, WebServer

_worker_web: CachedWeb | None = None
"""The web a render worker renders from, set by `_init_worker`."""


def scale_config(pages: int, seed: int = 0) -> WebConfig:
    """The test web of the study: default noise shares, but no fault URLs (they only add fixed
    waits that do not grow with the data) and no large images (up to 1,583 px, 150-400 ms each
    to render: 5% of the images would take two thirds of the rendering time)."""
    return WebConfig(seed=seed, pages=pages, faults_per_kind=0, large_share=0.0)


def cache_folder(root: Path, config: WebConfig) -> Path:
    """Where the rendered images of `config` live under `root` (one folder per config)."""
    digest = hashlib.sha256(json.dumps(config.as_dict(), sort_keys=True).encode()).hexdigest()
    return root / f"web-pages{config.pages}-{digest[:10]}"


class CachedWeb(SyntheticWeb):
    """A SyntheticWeb whose image bytes are read from (or rendered once into) a folder."""

    def __init__(self, config: WebConfig, folder: Path) -> None:
        super().__init__(config)
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, image_id: int) -> Path:
        return self.folder / f"{image_id // 1000:04d}" / f"{image_id}.bin"

    def image_bytes(self, image_id: int) -> bytes:
        """The image's bytes from the cache; rendered and written there on a miss."""
        path = self._path(image_id)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            data = super().image_bytes(image_id)
            path.parent.mkdir(exist_ok=True)
            temp = path.with_name(f".{path.name}.{os.getpid()}")
            temp.write_bytes(data)
            os.replace(temp, path)
            return data

    def missing(self) -> list[int]:
        """Ids of the images not in the cache yet."""
        return [i for i in range(len(self.plan.images)) if not self._path(i).is_file()]


def _init_worker(web: CachedWeb) -> None:
    global _worker_web
    _worker_web = web


def _render_ids(ids: list[int]) -> int:
    if _worker_web is None:
        raise RuntimeError("render worker started without its web")
    for image_id in ids:
        _worker_web.image_bytes(image_id)
    return len(ids)


def render_all(config: WebConfig, root: Path, processes: int) -> tuple[CachedWeb, int]:
    """Render every image of `config` not in the cache, in `processes` forked workers (which
    inherit the planned web instead of planning it again); the web and how many were rendered."""
    web = CachedWeb(config, cache_folder(root, config))
    ids = web.missing()
    if not ids:
        return web, 0
    chunks = [ids[k : k + 500] for k in range(0, len(ids), 500)]
    fork = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(processes, fork, _init_worker, (web,)) as pool:
        done = 0
        for count in pool.map(_render_ids, chunks):
            done += count
            print(f"  rendered {done:,} / {len(ids):,} images", end="\r", flush=True)
    print()
    return web, len(ids)


def serve(config: WebConfig, root: Path) -> None:
    """Serve the cached web on 127.0.0.1; print the origin; stop on SIGTERM or SIGINT."""
    web = CachedWeb(config, cache_folder(root, config))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with WebServer(web) as server:
        print(server.origin, flush=True)
        try:
            while not stop.wait(0.2):
                pass
        except KeyboardInterrupt:
            pass


def main() -> int:
    """`render` fills the cache; `serve` serves from it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["render", "serve"])
    parser.add_argument("--pages", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, required=True, help="folder of rendered webs")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    config = scale_config(args.pages, args.seed)
    if args.action == "serve":
        serve(config, args.cache)
        return 0
    start = time.perf_counter()
    _, rendered = render_all(config, args.cache, args.processes)
    print(f"rendered {rendered:,} images in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

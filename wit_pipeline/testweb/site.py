"""The static copy of the synthetic web: every plain 200 body as a file, plus faults.json that
tells any other server how to act out the faults, the ground truth and a summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

if TYPE_CHECKING:
    from .web import SyntheticWeb


def _file_path(directory: Path, url_path: str) -> Path:
    return directory / url_path.lstrip("/")


def _faults(web: SyntheticWeb) -> dict:
    config = web.config
    routes = [
        {
            "path": route.path,
            "kind": route.kind,
            "status": route.status,
            "content_type": route.content_type,
            "headers": dict(route.headers),
            "location": route.location,
            "absolute_location": route.absolute_location,
            "file": route.path.lstrip("/") if route.body and route.status == 200 else None,
        }
        for route in web.routes.values()
        if route.kind not in ("ok", "page")
    ]
    timing = {
        "slow_seconds": config.slow_seconds,
        "drip_interval": config.drip_interval,
        "drip_seconds": config.drip_seconds,
        "retry_after": config.retry_after,
        "huge_bytes": config.huge_bytes,
    }
    return {"timing": timing, "routes": routes}


def _dump(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def write_site(web: SyntheticWeb, directory: Path, origin: str) -> dict:
    """Write the site for `origin` under `directory`; returns the summary (with the origin)."""
    directory.mkdir(parents=True, exist_ok=True)
    for route in web.routes.values():
        if route.path == "/" or route.body is None or route.status != 200:
            continue
        target = _file_path(directory, route.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(web.body(route, origin))
    pq.write_table(web.ground_truth(origin), directory / "ground_truth.parquet")
    _dump(directory / "faults.json", _faults(web))
    summary = web.summary() | {"origin": origin}
    _dump(directory / "summary.json", summary)
    return summary

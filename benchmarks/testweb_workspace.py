"""Build a workspace whose raw/ is the test web's `ok` images, downloaded by the download stage
from a loopback server: the input of the filter and shard benchmarks."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.download import DownloadOptions, FetchOptions, InputSpec, download
from wit_pipeline.testweb import SyntheticWeb, WebServer


def download_testweb(
    web: SyntheticWeb,
    root: Path,
    *,
    limit: int | None = None,
    with_gif: bool = True,
    samples_per_shard: int = 500,
    processes: int = 1,
    threads: int = 64,
) -> tuple[Workspace, list[dict]]:
    """Download the web's `ok` images (the first `limit`; GIFs only `with_gif`) into
    `root/w`; returns the workspace and the ground-truth rows it was given."""
    with WebServer(web) as server:
        truth = web.ground_truth(server.origin).to_pylist()
        rows = [r for r in truth if r["kind"] == "ok" and (with_gif or r["format"] != "gif")]
        rows = rows[:limit]
        urls = root / "urls.parquet"
        root.mkdir(parents=True, exist_ok=True)
        captions = [r["true_caption"] or "a caption" for r in rows]
        pq.write_table(pa.table({"url": [r["url"] for r in rows], "caption": captions}), urls)
        workspace = Workspace(root / "w")
        options = DownloadOptions(
            fetch=FetchOptions(allow_private_networks=True),
            processes=processes,
            threads=threads,
            progress=False,
        )
        download(workspace, InputSpec(urls, samples_per_shard=samples_per_shard), options)
    return workspace, rows

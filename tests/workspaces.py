"""Helpers shared by the stage tests: quick download settings and URL lists from ground truth."""

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


def pipeline_config(testweb, workdir: Path | str) -> dict:
    """A run config of the four data stages over the test web, with quick settings."""
    return {
        "workdir": str(workdir),
        "scrape": {
            "sources": [f"{testweb.base_url}index.html"],
            "rate": 200,
            "max_depth": 3,
            "allow_private_networks": True,
        },
        "download": {
            "allow_private_networks": True,
            "timeout": 1.0,
            "retries": 1,
            "samples_per_shard": 40,
            "threads": 16,
            "processes": 1,
        },
        "filter": {"clip_model": "none", "workers": 0},
        "shard": {"samples_per_shard": 16},
    }

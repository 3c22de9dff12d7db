"""wit-pipeline: build web image-text datasets from scrape to trained CLIP."""

from typing import Any

__version__ = "0.1.0"

API = ("scrape", "download", "adopt", "filter", "shard", "run", "select")
"""Functions of `wit_pipeline.api` importable from the package itself (imported on first use,
so `import wit_pipeline` stays light): `from wit_pipeline import download`."""


def __getattr__(name: str) -> Any:
    if name in API:
        from wit_pipeline import api

        return getattr(api, name)
    raise AttributeError(f"module 'wit_pipeline' has no attribute {name!r}")

"""Download stage: image URLs -> resized images in img2dataset's shard layout under raw/."""

from wit_pipeline.net.fetch import FetchOptions
from wit_pipeline.stages.download.plan import InputSpec
from wit_pipeline.stages.download.shard import ResizeOptions
from wit_pipeline.stages.download.stage import DownloadOptions, DownloadSummary, download

__all__ = [
    "DownloadOptions",
    "DownloadSummary",
    "FetchOptions",
    "InputSpec",
    "ResizeOptions",
    "download",
]

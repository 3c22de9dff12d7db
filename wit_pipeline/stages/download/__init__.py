"""Download stage: image URLs -> resized images in img2dataset's shard layout under raw/."""

from wit_pipeline.core.stage import Stage, lazy_exports
from wit_pipeline.stages.download.layout import OUTPUTS, timing
from wit_pipeline.stages.download.options import Options

STAGE = Stage(
    name="download",
    help="download and resize images into raw/ (img2dataset's layout)",
    options=Options,
    entry="wit_pipeline.stages.download.stage:run",
    command="download",
    outputs=OUTPUTS,
    timing=timing,
)

__getattr__ = lazy_exports(
    __name__,
    {
        "DownloadOptions": "stage",
        "DownloadSummary": "stage",
        "download": "stage",
        "FetchOptions": "stage",
        "InputSpec": "plan",
        "ResizeOptions": "shard",
    },
)
__all__ = [
    "STAGE",
    "DownloadOptions",
    "DownloadSummary",
    "FetchOptions",
    "InputSpec",
    "Options",
    "ResizeOptions",
    "download",
]

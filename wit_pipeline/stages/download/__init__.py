"""Download stage: image URLs -> resized images in img2dataset's shard layout under raw/."""

from wit_pipeline.core.stage import Stage, lazy_exports
from wit_pipeline.stages.download.layout import OUTPUTS, timing
from wit_pipeline.stages.download.options import Options

HELP = "download and resize images into raw/ (img2dataset's layout)"
STAGE = Stage(
    "download", HELP, Options, f"{__name__}.stage:run", OUTPUTS, timing, on_object_storage=True
)

__getattr__ = lazy_exports(
    __name__,
    stage=("DownloadOptions", "DownloadSummary", "download", "FetchOptions"),
    plan=("InputSpec",),
    unit=("ResizeOptions",),
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

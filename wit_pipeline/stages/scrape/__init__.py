"""Scrape stage: (image URL, caption) pairs from HTML pages, WARC and WAT files, and crawls."""

from wit_pipeline.core.stage import Stage, lazy_exports
from wit_pipeline.stages.scrape.layout import OUTPUTS, timing
from wit_pipeline.stages.scrape.options import Options

HELP = "find (image URL, caption) pairs in pages, WARC/WAT files and sites"
STAGE = Stage(
    "scrape",
    HELP,
    Options,
    f"{__name__}.stage:run",
    OUTPUTS,
    timing,
    command="scrape SOURCE...",
    on_object_storage=True,
)

__getattr__ = lazy_exports(
    __name__,
    captions=("CaptionRules",),
    crawl=("CrawlOptions",),
    stage=("ScrapeOptions", "ScrapeSummary", "scrape"),
)
__all__ = [
    "STAGE",
    "CaptionRules",
    "CrawlOptions",
    "Options",
    "ScrapeOptions",
    "ScrapeSummary",
    "scrape",
]

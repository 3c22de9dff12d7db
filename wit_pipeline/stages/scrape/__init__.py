"""Scrape stage: (image URL, caption) pairs from HTML pages, WARC and WAT files, and crawls."""

from wit_pipeline.core.stage import Stage, lazy_exports
from wit_pipeline.stages.scrape.layout import OUTPUTS, timing
from wit_pipeline.stages.scrape.options import Options

STAGE = Stage(
    name="scrape",
    help="find (image URL, caption) pairs in pages, WARC/WAT files and sites",
    options=Options,
    entry="wit_pipeline.stages.scrape.stage:run",
    command="scrape SOURCE...",
    outputs=OUTPUTS,
    timing=timing,
)

__getattr__ = lazy_exports(
    __name__,
    {
        "CaptionRules": "captions",
        "CrawlOptions": "crawl",
        "ScrapeOptions": "stage",
        "ScrapeSummary": "stage",
        "scrape": "stage",
    },
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

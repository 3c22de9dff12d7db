"""Scrape stage: (image URL, caption) pairs from HTML pages, WARC and WAT files, and crawls."""

from wit_pipeline.stages.scrape.captions import CaptionRules
from wit_pipeline.stages.scrape.crawl import CrawlOptions
from wit_pipeline.stages.scrape.stage import ScrapeOptions, ScrapeSummary, scrape

__all__ = ["CaptionRules", "CrawlOptions", "ScrapeOptions", "ScrapeSummary", "scrape"]

"""`W/report/index.html`: one self-contained page about the dataset, written atomically.

Each section reads the catalog views (or the stages' markers and stats files) and says "not run
yet" with the command to run when its stage has not written anything, so a report of a partial
workspace is fine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tqdm import tqdm

from wit_pipeline import __version__
from wit_pipeline.catalog import open_catalog
from wit_pipeline.core.atomic import write_bytes_atomic
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.report.distributions import captions_section, clip_section, images_section
from wit_pipeline.report.downloads import downloads_section
from wit_pipeline.report.entries import entries_section
from wit_pipeline.report.funnel import funnel_section
from wit_pipeline.report.gallery import duplicates_section, samples_section
from wit_pipeline.report.html import Section, esc, page
from wit_pipeline.report.thumbnails import Thumbnails
from wit_pipeline.report.timings import timings_section
from wit_pipeline.report.training import training_section

REPORT_FILE = "index.html"


@dataclass(frozen=True)
class ReportOptions:
    """What goes into the report and where it is written (default `W/report/index.html`)."""

    out: Path | None = None
    samples_per_reason: int = 8
    duplicate_groups: int = 10
    top_hosts: int = 15
    progress: bool = True


@dataclass
class ReportSummary:
    """What a report run wrote."""

    path: Path
    sections: int
    not_run: list[str] = field(default_factory=list)
    images: int = 0
    bytes: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        """One summary line for people."""
        missing = (
            f" ({len(self.not_run)} not run yet: {', '.join(self.not_run)})"
            if (self.not_run)
            else ""
        )
        return (
            f"report {self.path}: {self.sections} sections{missing}, {self.images} images "
            f"embedded, {self.bytes / 1e6:.2f} MB; {self.seconds:.1f} s"
        )


def build_report(workspace: Workspace, options: ReportOptions | None = None) -> ReportSummary:
    """Write the report of `workspace` and say what it holds."""
    options = options or ReportOptions()
    start = time.monotonic()
    with open_catalog(workspace) as catalog:
        thumbnails = Thumbnails(workspace.location(workspace.raw_dir))
        builders: list[Callable[[], Section]] = [
            lambda: funnel_section(catalog, workspace),
            lambda: clip_section(catalog),
            lambda: images_section(catalog),
            lambda: captions_section(catalog),
            lambda: downloads_section(catalog, options.top_hosts),
            lambda: duplicates_section(catalog, thumbnails, options.duplicate_groups),
            lambda: samples_section(catalog, thumbnails, options.samples_per_reason),
            lambda: timings_section(workspace),
            lambda: training_section(workspace),
        ]
        if catalog.has("entries"):  # filter ran with --entries
            builders.insert(4, lambda: entries_section(catalog))
        bar = tqdm(
            builders,
            desc="report",
            unit="section",
            disable=not options.progress or None,
            leave=False,
        )
        sections = [build() for build in bar]
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta = (
        f"workspace <code>{esc(workspace.root.resolve())}</code> · generated {generated} by "
        f"wit-pipeline {esc(__version__)} · one file, images embedded"
    )
    document = page(f"Dataset report: {workspace.root.name}", meta, sections)
    out = Path(options.out) if options.out is not None else workspace.report_dir / REPORT_FILE
    data = document.encode("utf-8")
    write_bytes_atomic(out, data)
    return ReportSummary(
        path=out,
        sections=len(sections),
        not_run=[s.id for s in sections if not s.ran],
        images=document.count('src="data:'),
        bytes=len(data),
        seconds=time.monotonic() - start,
    )

"""The scrape stage: sources -> `pairs/part-*.parquet` (schema `pairs`), deduplicated by uid.

Phase 1 runs one unit per source (archive, seed URL or group of HTML files) on the executor and
streams its pairs to `pairs/.units/UNIT.parquet`. Phase 2 merges the units of this run in
DuckDB (out of core), keeps the first pair per uid (or per URL with `dedupe_url`) in source
order, and writes the final parts.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from wit_pipeline.core.atomic import atomic_folder, atomic_path, remove_stale_temps
from wit_pipeline.core.executor import (
    Engine,
    Unit,
    forget_units,
    mark_stage_done,
    record_units,
    run_units,
)
from wit_pipeline.core.options import codes, same_named
from wit_pipeline.core.parquet_parts import write_parts
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.core.staging import Staging
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.scoring.language import detect_language
from wit_pipeline.stages.scrape.archives import (
    Page,
    iter_warc_pages,
    iter_wat_images,
    problem,
)
from wit_pipeline.stages.scrape.captions import CaptionRules, caption_drop_reason
from wit_pipeline.stages.scrape.crawl import CrawlOptions, crawl
from wit_pipeline.stages.scrape.html import BAD_URL, ImageCandidate, extract_images, resolve_url
from wit_pipeline.stages.scrape.layout import UNITS_DIR
from wit_pipeline.stages.scrape.options import Options
from wit_pipeline.stages.scrape.sources import SourceSpec, plan_sources

SEQ_COLUMN = "_seq"
BATCH_ROWS = 8192
FLOW_COUNTS = ("pages", "images", "pairs")
DROP_REASONS = (
    "no_src",
    "bad_url",
    "data_uri",
    "not_http",
    "empty_caption",
    "too_short",
    "too_long",
    "filename_like",
    "boilerplate",
    "too_few_words",
    "wrong_lang",
)


@dataclass(frozen=True)
class ScrapeOptions:
    """Everything that shapes a scrape run; each field is a command-line flag."""

    rules: CaptionRules = field(default_factory=CaptionRules)
    crawl: CrawlOptions = field(default_factory=CrawlOptions)
    base_url: str | None = None
    dedupe_url: bool = False
    max_page_bytes: int = 5_000_000
    rows_per_part: int = 1_000_000
    html_files_per_unit: int = 500
    processes: int = 1
    progress: bool = True
    engine: Engine = field(default_factory=Engine)


@dataclass(frozen=True)
class UnitJob:
    """The picklable argument of one unit: what to read and where to write its pairs."""

    spec: SourceSpec
    output: str
    options: ScrapeOptions

    def staged(self, staging: Staging) -> UnitJob:
        """This unit on a node's scratch (a workspace on object storage, core.staging)."""
        output = Path(self.output)
        return replace(self, output=str(Path(staging.output(output.parent)) / output.name))


@dataclass
class ScrapeSummary:
    """What a scrape run did, for the summary line and the stage marker."""

    sources: int = 0
    units_run: int = 0
    units_skipped: int = 0
    pairs_before_dedupe: int = 0
    pairs: int = 0
    parts: int = 0
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def dropped(self) -> dict[str, int]:
        """Images dropped, by rule, plus duplicate pairs removed by the merge."""
        dropped = {r: self.counts[r] for r in DROP_REASONS if self.counts.get(r)}
        if self.pairs_before_dedupe > self.pairs:
            dropped["duplicate"] = self.pairs_before_dedupe - self.pairs
        return dropped

    @property
    def problems(self) -> dict[str, int]:
        """Damaged-input problems by reason (bad archives, failed fetches, ...)."""
        known = (
            set(FLOW_COUNTS)
            | set(DROP_REASONS)
            | {
                "wat_records",
                "pages_crawled",
                "non_html_record",
                "non_html_page",
                "offsite_redirect",
            }
        )
        return {k: v for k, v in sorted(self.counts.items()) if k not in known and v}

    def line(self) -> str:
        """One summary line for people."""
        rate = self.counts.get("pages", 0) / self.seconds if self.seconds else 0.0
        dropped = ", ".join(f"{k} {v:,}" for k, v in self.dropped.items()) or "none"
        text = (
            f"scraped {self.sources} sources ({self.units_run} run, {self.units_skipped} "
            f"resumed): {self.counts.get('pages', 0):,} pages, "
            f"{self.counts.get('images', 0):,} images -> {self.pairs:,} pairs in "
            f"{self.parts} parts; dropped: {dropped}; {self.seconds:.1f} s ({rate:,.0f} pages/s)"
        )
        if self.problems:
            text += "; input problems: " + ", ".join(f"{k} {v:,}" for k, v in self.problems.items())
        return text


def pair_uid(url: str, caption: str) -> str:
    """md5 of caption + url, as cc2dataset dedupes Common Crawl pairs."""
    return hashlib.md5((caption + url).encode("utf-8")).hexdigest()


def _pairs(
    images: Iterable[ImageCandidate],
    page_url: str,
    source: str,
    rules: CaptionRules,
    counts: Counter,
) -> Iterator[dict[str, Any]]:
    """Apply URL and caption rules to a page's images; count every drop by reason."""
    for image in images:
        counts["images"] += 1
        url = image.url
        if not url:
            counts["no_src"] += 1
            continue
        if url.startswith(BAD_URL):
            counts["bad_url"] += 1
            continue
        if url.lower().startswith("data:"):
            counts["data_uri"] += 1
            continue
        if not url.startswith(("http://", "https://")):
            counts["not_http"] += 1
            continue
        reason = caption_drop_reason(image.caption, rules)
        if reason:
            counts[reason] += 1
            continue
        lang = detect_language(image.caption)
        if rules.langs and lang not in rules.langs:
            counts["wrong_lang"] += 1
            continue
        counts["pairs"] += 1
        yield {
            "uid": pair_uid(url, image.caption),
            "url": url,
            "caption": image.caption,
            "page_url": page_url,
            "source": source,
            "caption_source": image.caption_source,
            "lang": lang,
        }


def _page_pairs(page: Page, source: str, rules: CaptionRules, counts: Counter):
    counts["pages"] += 1
    try:
        images = extract_images(page.tree, page.url)
    except Exception as exc:
        problem(counts, "unparsable_page", source, page.offset, f"{type(exc).__name__}: {exc}")
        return iter(())
    return _pairs(images, page.url, source, rules, counts)


def _local_page_url(path: Path, root: str | None, base_url: str | None) -> str:
    absolute = Path(os.path.abspath(path))
    if base_url and root and absolute.is_relative_to(root):
        return base_url.rstrip("/") + "/" + absolute.relative_to(root).as_posix()
    return absolute.as_uri()


def _unit_pairs(job: UnitJob, counts: Counter) -> Iterator[dict[str, Any]]:
    """Every pair of one unit's sources, streamed."""
    spec, options, rules = job.spec, job.options, job.options.rules
    if spec.kind == "crawl":
        for page in crawl(spec.items[0], options.crawl, counts):
            yield from _page_pairs(page, spec.items[0], rules, counts)
    elif spec.kind == "warc":
        for page in iter_warc_pages(spec.items[0], counts, options.max_page_bytes):
            yield from _page_pairs(page, spec.items[0], rules, counts)
    elif spec.kind == "wat":
        for image in iter_wat_images(spec.items[0], counts, options.max_page_bytes):
            candidate = ImageCandidate(
                url=resolve_url(image.url, image.base),
                caption=" ".join(image.alt.split()),
                caption_source="alt",
            )
            yield from _pairs([candidate], image.page_url, spec.items[0], rules, counts)
    else:
        for name in spec.items:
            path = Path(name)
            with open(path, "rb") as handle:
                body = handle.read(options.max_page_bytes + 1)
            if len(body) > options.max_page_bytes:
                problem(counts, "page_truncated", name, 0, f"over {options.max_page_bytes} bytes")
                body = body[: options.max_page_bytes]
            page = Page(
                url=_local_page_url(path, spec.root, options.base_url),
                html=body.decode("utf-8", errors="replace"),
                offset=0,
            )
            yield from _page_pairs(page, name, rules, counts)


def unit_schema() -> pa.Schema:
    """The pairs schema plus the position column that keeps the merge in source order."""
    return load_schema("pairs").arrow.append(pa.field(SEQ_COLUMN, pa.int64(), nullable=False))


def scrape_unit(job: UnitJob) -> dict[str, Any]:
    """Run one unit: stream its pairs into its parquet file (atomically); return its counts."""
    counts: Counter = Counter()
    schema = unit_schema()
    with atomic_path(Path(job.output)) as temp, pq.ParquetWriter(temp, schema) as writer:
        buffer: list[dict[str, Any]] = []
        for seq, pair in enumerate(_unit_pairs(job, counts)):
            pair[SEQ_COLUMN] = seq
            buffer.append(pair)
            if len(buffer) >= BATCH_ROWS:
                writer.write_batch(pa.RecordBatch.from_pylist(buffer, schema=schema))
                buffer.clear()
        if buffer:
            writer.write_batch(pa.RecordBatch.from_pylist(buffer, schema=schema))
    return {"source": list(job.spec.items)[:3], "kind": job.spec.kind, "counts": dict(counts)}


def _merged_batches(con: duckdb.DuckDBPyConnection, files: list[str], dedupe_url: bool):
    """The pairs of `files` in source order, first occurrence per uid (or URL) only."""
    con.execute("CREATE TEMP TABLE unit_order(filename VARCHAR, unit_index INTEGER)")
    con.executemany("INSERT INTO unit_order VALUES (?, ?)", [(f, i) for i, f in enumerate(files)])
    key = "url" if dedupe_url else "uid"
    columns = ", ".join(f"p.{name}" for name in load_schema("pairs").arrow.names)
    query = f"""
        SELECT {columns}
        FROM read_parquet($files, filename = true) AS p JOIN unit_order USING (filename)
        QUALIFY row_number() OVER (PARTITION BY p.{key} ORDER BY unit_index, p.{SEQ_COLUMN}) = 1
        ORDER BY unit_index, p.{SEQ_COLUMN}
    """
    yield from con.sql(query, params={"files": files}).to_arrow_reader(BATCH_ROWS)


def scrape(workspace: Workspace, sources: list[str], options: ScrapeOptions) -> ScrapeSummary:
    """Scrape `sources` into the workspace's pairs/ folder; resumes units a killed run finished."""
    start = time.monotonic()
    specs = plan_sources(sources, options.html_files_per_unit)
    workspace.prepare()
    pairs_dir = workspace.pairs_dir
    remove_stale_temps(pairs_dir)
    units_dir = pairs_dir / UNITS_DIR
    units = [
        Unit(s.unit_name, UnitJob(s, str(units_dir / f"{s.unit_name}.parquet"), options))
        for s in specs
    ]
    unique_units = list({u.name: u for u in units}.values())
    forget_units(pairs_dir, every=True)
    result = run_units(
        units_dir,
        unique_units,
        scrape_unit,
        processes=options.processes,
        desc="scrape",
        progress=options.progress,
        engine=options.engine,
    )
    counts: Counter = Counter()
    for info in result.infos.values():
        counts.update(info.get("counts", {}))

    files = [u.payload.output for u in unique_units]
    with duckdb.connect() as con:
        before = con.execute("SELECT count(*) FROM read_parquet($f)", {"f": files}).fetchone()[0]
        # New parts are written aside, then swapped in for the old ones; until the stage
        # marker is written again, readers see pairs/ as unfinished.
        with atomic_folder(pairs_dir, "parts") as temp:
            parts = write_parts(
                _merged_batches(con, files, options.dedupe_url),
                temp,
                load_schema("pairs").arrow,
                rows_per_part=options.rows_per_part,
            )
            for stale in pairs_dir.glob("part-*.parquet"):
                stale.unlink()
    summary = ScrapeSummary(
        sources=len(specs),
        units_run=len(unique_units) - len(result.skipped),
        units_skipped=len(result.skipped),
        pairs_before_dedupe=before,
        pairs=sum(rows for _, rows in parts),
        parts=len(parts),
        counts=dict(counts),
        seconds=time.monotonic() - start,
    )
    record_units(pairs_dir, {Path(name).stem: {"rows": rows} for name, rows in parts})
    mark_stage_done(
        pairs_dir,
        {
            "pairs": summary.pairs,
            "dropped": summary.dropped,
            "problems": summary.problems,
            "counts": summary.counts,
            "seconds": round(summary.seconds, 3),
        },
    )
    return summary


def run(workspace: Workspace, options: Options, engine: Engine) -> ScrapeSummary:
    """The stage's entry point: scrape `options.sources` with the rules the options set."""
    rules = same_named(
        CaptionRules,
        options,
        drop_boilerplate=not options.keep_boilerplate,
        langs=codes(options.lang),
    )
    crawl = same_named(
        CrawlOptions,
        options,
        requests_per_second=options.rate,
        same_host=not options.any_host,
        respect_robots=not options.ignore_robots,
    )
    settings = same_named(
        ScrapeOptions, options, rules=rules, crawl=crawl, progress=engine.progress, engine=engine
    )
    return scrape(workspace, list(options.sources), settings)

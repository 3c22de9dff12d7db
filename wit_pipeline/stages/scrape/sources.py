"""Turn the SOURCE arguments of `scrape` into units of work: one per archive or seed URL, and
local HTML files in groups, so a killed run resumes per source file. WARC and WAT files may
also be fsspec URLs (s3://bucket/crawl/, gs://...): read in place, streamed."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from wit_pipeline.core import storage
from wit_pipeline.core.errors import InputError

HTML_SUFFIXES = (".html", ".htm", ".xhtml")
WARC_SUFFIXES = (".warc", ".warc.gz")
WAT_SUFFIXES = (".wat", ".wat.gz", ".warc.wat", ".warc.wat.gz")


@dataclass(frozen=True)
class SourceSpec:
    """One unit's input: its kind, the files (or the seed URL), and the folder HTML paths are
    relative to (used with --base-url)."""

    kind: str
    items: tuple[str, ...]
    root: str | None = None

    @property
    def unit_name(self) -> str:
        """Marker name: kind plus a digest of the inputs (for files: path, size and mtime, so a
        file rewritten since the last run is scraped again rather than resumed)."""
        parts = []
        for item in self.items:
            if self.kind == "crawl":
                parts.append(item)
            elif storage.is_remote(item):
                parts.append(f"{item}\t{storage.version(item)}")
            else:
                stat = Path(item).stat()
                parts.append(f"{item}\t{stat.st_size}\t{stat.st_mtime_ns}")
        digest = hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]
        return f"{self.kind}-{digest}"


def source_kind(path: Path) -> str | None:
    """`wat`, `warc` or `html` from a file name, or None."""
    name = path.name.lower()
    if name.endswith(WAT_SUFFIXES):
        return "wat"
    if name.endswith(WARC_SUFFIXES):
        return "warc"
    if name.endswith(HTML_SUFFIXES):
        return "html"
    return None


def _chunks(items: list[str], size: int) -> list[tuple[str, ...]]:
    return [tuple(items[i : i + size]) for i in range(0, len(items), size)]


def _remote_sources(url: str) -> list[SourceSpec]:
    """One unit per WARC or WAT file at an fsspec URL (s3://...): the file, or those under
    the folder. HTML pages are read from local files only."""
    if storage.is_dir(url):
        found = [(source_kind(Path(f)), f) for f in storage.find(url)]
        specs = [SourceSpec(kind, (f,)) for kind in ("warc", "wat") for k, f in found if k == kind]
        if not specs:
            raise InputError(f"{url}: folder holds no .warc or .wat files")
        return specs
    if not storage.exists(url):
        raise InputError(f"{url}: no such file or folder")
    kind = source_kind(Path(url))
    if kind not in ("warc", "wat"):
        raise InputError(f"{url}: not a source (a URL source is a .warc[.gz] or .wat[.gz] file)")
    return [SourceSpec(kind, (url,))]


def plan_sources(arguments: list[str], html_files_per_unit: int = 500) -> list[SourceSpec]:
    """Classify every argument; raise InputError naming the first one that is not a source."""
    if not arguments:
        raise InputError("scrape: no SOURCE given (HTML files or folders, WARC/WAT files, URLs)")
    specs: list[SourceSpec] = []
    for argument in arguments:
        if argument.startswith(("http://", "https://")):
            specs.append(SourceSpec("crawl", (argument,)))
            continue
        if storage.is_remote(argument):
            specs.extend(_remote_sources(argument))
            continue
        path = Path(argument)
        if not path.exists():
            raise InputError(f"{argument}: no such file or folder")
        if path.is_file():
            kind = source_kind(path)
            if kind is None:
                raise InputError(
                    f"{argument}: not a source (expected .html/.htm, .warc[.gz], .wat[.gz], "
                    "a folder of those, or an http(s) URL)"
                )
            root = os.path.abspath(path.parent) if kind == "html" else None
            specs.append(SourceSpec(kind, (os.path.abspath(path),), root))
            continue
        found: dict[str, list[str]] = {"html": [], "warc": [], "wat": []}
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            kind = source_kind(file)
            if kind:
                found[kind].append(os.path.abspath(file))
        if not any(found.values()):
            raise InputError(f"{argument}: folder holds no .html, .warc or .wat files")
        root = os.path.abspath(path)
        specs.extend(
            SourceSpec("html", c, root) for c in _chunks(found["html"], html_files_per_unit)
        )
        specs.extend(SourceSpec(kind, (f,)) for kind in ("warc", "wat") for f in found[kind])
    return specs

"""The bad-input catalogue: for every command, each kind of bad input that applies to it (a
missing file, the wrong format, wrong or missing columns, an empty input, an out-of-range
option, a workdir that cannot be written, a workdir of another layout version) gives one clear
line naming the file, column or value, exit code 2, and writes nothing.

Kinds that do not apply are left out: scrape and filter read no tables of the user's (filter's
damaged raw shards are its own tests), verify-shards, validate, status and schema write nothing.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit_pipeline.cli import main
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.core.workspace import LAYOUT_FILE

Setup = Callable[[Path], None]


def nothing(tmp: Path) -> None:
    """No files."""


def parquet(name: str, table: dict) -> Setup:
    def setup(tmp: Path) -> None:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(table), path)

    return setup


def text(name: str, content: str) -> Setup:
    def setup(tmp: Path) -> None:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)

    return setup


def folder(name: str) -> Setup:
    def setup(tmp: Path) -> None:
        (tmp / name).mkdir(parents=True)

    return setup


def both(*setups: Setup) -> Setup:
    def setup(tmp: Path) -> None:
        for each in setups:
            each(tmp)

    return setup


def decisions(rows: list[dict], name: str = "w/decisions.parquet") -> Setup:
    def setup(tmp: Path) -> None:
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(rows, schema=load_schema("decisions").arrow)
        pq.write_table(table, tmp / name)

    return setup


def corrupt_pages(path: Path) -> None:
    """A parquet file whose footer is valid and whose data pages are garbage."""
    urls = [f"http://a.test/{i}.jpg" for i in range(2000)]
    pq.write_table(pa.table({"url": urls, "caption": ["a b"] * 2000}), path, compression="none")
    data = bytearray(path.read_bytes())
    data[200:4000] = b"\xff" * 3800
    path.write_bytes(bytes(data))


URLS = {"url": ["http://a.test/1.jpg"], "caption": ["a red square"]}
KEPT = [{"key": "000000000", "shard": "00000", "keep": True, "reason": "kept", "reasons": []}]
GOOD_URLS = parquet("urls.parquet", URLS)
PAGE = text("page.html", '<img src="http://a.test/1.jpg" alt="a red square">')
OTHER_LAYOUT = text(f"w/{LAYOUT_FILE}", json.dumps({"layout": 99, "written_by": "9.0.0"}))
WORKDIR_IS_A_FILE = text("w", "not a folder")
SHARDS_IN_OTHER_LAYOUT = both(
    OTHER_LAYOUT, decisions(KEPT), text("w/shards/00000.tar", ""), text("w/shards/sizes.json", "{}")
)


@dataclass(frozen=True)
class Case:
    """One bad input: the command line ({T} is the test folder, the workdir is {T}/w), what to
    create first, and the text the one error line must hold."""

    id: str
    argv: tuple[str, ...]
    expect: str
    setup: Setup = nothing


def case(id: str, command: str, expect: str, setup: Setup = nothing) -> Case:
    return Case(id, ("--workdir", "{T}/w", *command.split()), expect, setup)


CASES = [
    # scrape
    case("scrape-missing-file", "scrape {T}/nope.warc.gz", "{T}/nope.warc.gz: no such file"),
    case(
        "scrape-wrong-format",
        "scrape {T}/notes.txt",
        "{T}/notes.txt: not a source",
        text("notes.txt", "hello"),
    ),
    case(
        "scrape-empty-input",
        "scrape {T}/site",
        "{T}/site: folder holds no .html, .warc or .wat files",
        folder("site"),
    ),
    case(
        "scrape-out-of-range",
        "scrape {T}/page.html --max-pages 0",
        "--max-pages: must be at least 1, got 0",
        PAGE,
    ),
    case("scrape-not-a-number", "scrape {T}/page.html --rate fast", "--rate: invalid", PAGE),
    case(
        "scrape-unwritable-workdir",
        "scrape {T}/page.html",
        "{T}/w: is a file, not a workspace folder",
        both(PAGE, WORKDIR_IS_A_FILE),
    ),
    case(
        "scrape-other-layout",
        "scrape {T}/page.html",
        "{T}/w: workspace layout 99 (written by wit-pipeline 9.0.0)",
        both(PAGE, OTHER_LAYOUT),
    ),
    # download
    case("download-missing-file", "download {T}/nope.parquet", "{T}/nope.parquet: no such file"),
    case(
        "download-wrong-format",
        "download {T}/urls.xlsx",
        "{T}/urls.xlsx: unsupported input format '.xlsx'",
        text("urls.xlsx", "http://a.test/1.jpg"),
    ),
    case(
        "download-not-parquet",
        "download {T}/urls.parquet",
        "{T}/urls.parquet: not a parquet file",
        text("urls.parquet", "url,caption\n"),
    ),
    case(
        "download-broken-csv",
        "download {T}/urls.csv",
        "{T}/urls.csv: not a valid CSV file",
        text("urls.csv", "url,caption\nhttp://a.test/1.jpg,a b,extra\n"),
    ),
    case(
        "download-missing-column",
        "download {T}/urls.parquet",
        "{T}/urls.parquet: column 'url' is missing (columns: link, caption)",
        parquet("urls.parquet", {"link": URLS["url"], "caption": URLS["caption"]}),
    ),
    case(
        "download-wrong-column-type",
        "download {T}/urls.parquet",
        "{T}/urls.parquet: column 'url': type int64, expected string",
        parquet("urls.parquet", {"url": [1], "caption": ["a red square"]}),
    ),
    case(
        "download-named-column-missing",
        "download {T}/urls.parquet --caption-col alt",
        "{T}/urls.parquet: column 'alt' is missing",
        GOOD_URLS,
    ),
    case(
        "download-empty-input",
        "download {T}/urls.parquet",
        "{T}/urls.parquet: no rows",
        parquet(
            "urls.parquet", {"url": pa.array([], pa.string()), "caption": pa.array([], pa.string())}
        ),
    ),
    case(
        "download-empty-file",
        "download {T}/urls.csv",
        "{T}/urls.csv: empty file",
        text("urls.csv", ""),
    ),
    case(
        "download-out-of-range",
        "download {T}/urls.parquet --samples-per-shard 0",
        "--samples-per-shard: must be at least 1, got 0",
        GOOD_URLS,
    ),
    case(
        "download-zero-timeout",
        "download {T}/urls.parquet --timeout 0",
        "--timeout: must be more than 0",
        GOOD_URLS,
    ),
    case(
        "download-reserved-column",
        "download {T}/urls.parquet --save-additional-columns key",
        "--save-additional-columns: 'key' is written anyway",
        GOOD_URLS,
    ),
    case(
        "download-unwritable-workdir",
        "download {T}/urls.parquet",
        "{T}/w: is a file, not a workspace folder",
        both(GOOD_URLS, WORKDIR_IS_A_FILE),
    ),
    case(
        "download-other-layout",
        "download {T}/urls.parquet",
        "{T}/w: workspace layout 99",
        both(GOOD_URLS, OTHER_LAYOUT),
    ),
    case("download-no-scrape-yet", "download", "{T}/w/pairs: scrape has not finished there"),
    case(
        "download-huge-shards",
        "download {T}/urls.parquet --samples-per-shard 100000000000",
        "--samples-per-shard: must be at most 1e+07",
        GOOD_URLS,
    ),
    case(
        "download-endless-timeout",
        "download {T}/urls.parquet --timeout 1e308",
        "--timeout: must be at most 86400",
        GOOD_URLS,
    ),
    case(
        "download-nan-timeout",
        "download {T}/urls.parquet --timeout nan",
        "--timeout: must be a finite number, got nan",
        GOOD_URLS,
    ),
    case(
        "download-quality-over-100",
        "download {T}/urls.parquet --encode-quality 1000",
        "--encode-quality: must be at most 100, got 1000",
        GOOD_URLS,
    ),
    case(
        "download-png-quality",
        "download {T}/urls.parquet --encode-format png --encode-quality 95",
        "--encode-format png takes --encode-quality 0-9 (zlib compression), got 95",
        GOOD_URLS,
    ),
    case(
        "download-duplicate-columns",
        "download {T}/urls.csv",
        "{T}/urls.csv: column 'url' appears more than once",
        text("urls.csv", "url,url,caption\nhttp://a.test/1.jpg,http://a.test/2.jpg,a b\n"),
    ),
    case(
        "download-corrupt-pages",
        "download {T}/urls.parquet",
        "{T}/urls.parquet: unreadable after row 0",
        lambda tmp: corrupt_pages(tmp / "urls.parquet"),
    ),
    # filter
    case(
        "filter-missing-input",
        "filter --clip-model none",
        "{T}/w/raw: no raw shards; run download first",
    ),
    case(
        "filter-wrong-format",
        "filter --clip-model none --decontaminate {T}/eval.txt",
        "--decontaminate {T}/eval.txt: not a folder",
        text("eval.txt", "x"),
    ),
    case(
        "filter-empty-input",
        "filter --clip-model none --decontaminate {T}/eval",
        "--decontaminate {T}/eval: no readable images or image tars inside",
        folder("eval"),
    ),
    case(
        "filter-out-of-range",
        "filter --min-clip-score 2",
        "--min-clip-score 2.0: a cosine is in [-1, 1]",
    ),
    case(
        "filter-nan-aspect-ratio",
        "filter --max-aspect-ratio nan",
        "--max-aspect-ratio: must be a finite number, got nan",
    ),
    case(
        "filter-bad-fraction",
        "filter --keep-fraction 1.5",
        "--keep-fraction 1.5: must be in (0, 1]",
    ),
    case(
        "filter-unwritable-workdir",
        "filter --clip-model none",
        "{T}/w/raw: no raw shards",
        WORKDIR_IS_A_FILE,
    ),
    case(
        "filter-other-layout",
        "filter --clip-model none",
        "{T}/w: workspace layout 99",
        OTHER_LAYOUT,
    ),
    # shard
    case("shard-missing-file", "shard", "{T}/w/decisions.parquet: no decisions; run filter first"),
    case(
        "shard-wrong-format",
        "shard",
        "{T}/w/decisions.parquet: not a parquet file",
        text("w/decisions.parquet", "key,keep\n"),
    ),
    case(
        "shard-missing-column",
        "shard",
        "{T}/w/decisions.parquet: column 'keep' is missing",
        parquet("w/decisions.parquet", {"key": ["000000000"], "shard": ["00000"]}),
    ),
    case(
        "shard-wrong-column-type",
        "shard",
        "{T}/w/decisions.parquet: column 'keep': type string, expected bool",
        parquet("w/decisions.parquet", {"key": ["0"], "shard": ["00000"], "keep": ["yes"]}),
    ),
    case("shard-empty-input", "shard", "{T}/w/decisions.parquet: no rows", decisions([])),
    case(
        "shard-nothing-kept",
        "shard",
        "{T}/w/decisions.parquet: no sample is kept",
        decisions([{**KEPT[0], "keep": False, "reason": "too_small"}]),
    ),
    case(
        "shard-out-of-range",
        "shard --samples-per-shard 0",
        "--samples-per-shard: must be at least 1, got 0",
    ),
    case(
        "shard-missing-raw-shard",
        "shard",
        "{T}/w/raw/00000.tar: raw shard named in decisions.parquet is missing",
        decisions(KEPT),
    ),
    case(
        "shard-unwritable-workdir",
        "shard",
        "{T}/w/decisions.parquet: no decisions",
        WORKDIR_IS_A_FILE,
    ),
    case("shard-other-layout", "shard", "{T}/w: workspace layout 99", OTHER_LAYOUT),
    # verify-shards
    case("verify-missing-folder", "verify-shards {T}/nope", "{T}/nope: not a folder of shards"),
    case(
        "verify-wrong-format",
        "verify-shards {T}/shards.tar",
        "{T}/shards.tar: not a folder of shards",
        text("shards.tar", ""),
    ),
    case(
        "verify-other-layout",
        "verify-shards {T}/w/shards",
        "{T}/w: workspace layout 99",
        SHARDS_IN_OTHER_LAYOUT,
    ),
    # validate
    case("validate-missing-file", "validate {T}/nope.parquet", "{T}/nope.parquet: no such file"),
    case(
        "validate-wrong-format",
        "validate {T}/urls.xlsx",
        "{T}/urls.xlsx: unsupported input format '.xlsx'",
        text("urls.xlsx", "x"),
    ),
    case(
        "validate-missing-column",
        "validate {T}/urls.parquet",
        "{T}/urls.parquet: column 'url' is missing",
        parquet("urls.parquet", {"link": URLS["url"], "caption": URLS["caption"]}),
    ),
    case(
        "validate-null-value",
        "validate {T}/urls.parquet",
        "{T}/urls.parquet: column 'url': 1 row is null (row 2)",
        parquet("urls.parquet", {"url": ["http://a.test/1.jpg", None], "caption": ["a b", "c d"]}),
    ),
    case(
        "validate-empty-input",
        "validate {T}/urls.csv",
        "{T}/urls.csv: empty file",
        text("urls.csv", ""),
    ),
    case(
        "validate-unknown-table",
        "validate {T}/urls.parquet --table nope",
        "--table: invalid choice: 'nope'",
        GOOD_URLS,
    ),
    # status, schema, global options
    case("status-other-layout", "status", "{T}/w: workspace layout 99", OTHER_LAYOUT),
    case(
        "status-unreadable-layout",
        "status",
        f"{{T}}/w/{LAYOUT_FILE}: unreadable workspace layout marker",
        text(f"w/{LAYOUT_FILE}", "{"),
    ),
    case("schema-unknown-table", "schema nope", "invalid choice: 'nope'"),
    case("engine-unknown", "--engine nope status", "--engine: invalid choice: 'nope'"),
]


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every path under `root`: what "nothing written" compares."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def run_cli(argv: list[str]) -> int:
    """The exit code of the command line, whether it returns or exits."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_one_line_exit_2_and_writes_nothing(bad, tmp_path, capsys):
    bad.setup(tmp_path)
    before = snapshot(tmp_path)
    code = run_cli([a.format(T=tmp_path) for a in bad.argv] + ["-q"])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    assert bad.expect.format(T=tmp_path) in lines[0], lines[0]
    assert snapshot(tmp_path) == before

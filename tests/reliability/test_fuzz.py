"""Fuzzing with hypothesis: the HTML extractor, the WARC and WAT readers, the schema validator,
verify-shards and the shard reader take arbitrary and mutated input without an unhandled
exception, and report what they cannot read in their usual form (counts, one-line problems,
skipped samples). Derandomized, so CI runs the same examples every time."""

import io
import json
import tarfile
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.hostile_tars import sample, write_tar
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.core.validate import FORMATS, validate_file
from wit_pipeline.reader import shard_pipeline
from wit_pipeline.stages.scrape.archives import iter_warc_pages, iter_wat_images
from wit_pipeline.stages.scrape.html import extract_images, extract_links, parse_html, parse_srcset
from wit_pipeline.stages.shard import verify_shards
from wit_pipeline.testweb.archives import wat_envelope, write_warc, write_wat

FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PAGE = b"""<html><head><base href="/b/"><title>t</title></head><body>
<figure><img src="a.jpg" srcset="a-1.jpg 1x, a-2.jpg 2x" alt="a red star"><figcaption>c</figcaption>
</figure><img data-src="//cdn.test/x.jpg" title="a blue moon"><a href="/next">n</a></body></html>"""
TAGS = ["img", "a", "base", "figure", "figcaption", "picture", "source", "p", "div"]
ATTRIBUTES = ["src", "srcset", "data-src", "data-srcset", "alt", "title", "href"]


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with a few bytes flipped, cut, inserted or deleted."""
    out = bytearray(data)
    for op, position, chunk in draw(
        st.lists(
            st.tuples(
                st.sampled_from(["flip", "cut", "insert", "delete"]),
                st.integers(0, len(data)),
                st.binary(min_size=1, max_size=24),
            ),
            min_size=1,
            max_size=4,
        )
    ):
        position = min(position, len(out))
        if op == "flip" and out:
            out[min(position, len(out) - 1)] ^= chunk[0] or 1
        elif op == "cut":
            del out[position:]
        elif op == "insert":
            out[position:position] = chunk
        elif op == "delete":
            del out[position : position + len(chunk)]
    return bytes(out)


def _file_bytes(write, path: Path) -> bytes:
    write(path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def seeds(folder) -> dict[str, bytes]:
    """Valid inputs to mutate: a WARC, a gzipped one, a WAT, a parquet, a shard tar."""
    pages = [("http://h.test/p", PAGE), ("http://h.test/q", PAGE.replace(b"a.jpg", b"q.jpg"))]
    envelopes = [(url, wat_envelope(url, html)) for url, html in pages]
    table = pa.table({"url": ["http://h.test/a.jpg"], "caption": ["a red star"]})
    return {
        "warc": _file_bytes(lambda p: write_warc(p, pages, compress=False), folder / "s.warc"),
        "warc.gz": _file_bytes(lambda p: write_warc(p, pages), folder / "s.warc.gz"),
        "wat": _file_bytes(lambda p: write_wat(p, envelopes, compress=False), folder / "s.wat"),
        "parquet": _file_bytes(lambda p: pq.write_table(table, p), folder / "s.parquet"),
        "tar": _file_bytes(
            lambda p: write_tar(p, [*sample("000000000"), *sample("000000001")]), folder / "s.tar"
        ),
    }


def _one_line_problems(problems: list[str], name: str) -> None:
    for problem in problems:
        assert isinstance(problem, str) and "\n" not in problem and name in problem, problem


@FUZZ
@given(st.text(max_size=2000), st.text(max_size=80))
def test_html_extractor_takes_any_text(html, page_url):
    tree = parse_html(html)
    for image in extract_images(tree, page_url or "http://h.test/"):
        assert isinstance(image.url, str) and isinstance(image.caption, str)
    assert all(isinstance(link, str) for link in extract_links(tree, "http://h.test/d/p.html"))


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.sampled_from(TAGS),
            st.dictionaries(st.sampled_from(ATTRIBUTES), st.text(max_size=60), max_size=4),
            st.booleans(),
        ),
        max_size=30,
    )
)
def test_html_extractor_takes_any_markup(elements):
    parts = []
    for tag, attributes, close in elements:
        attrs = "".join(f' {name}="{value}"' for name, value in attributes.items())
        parts.append(f"<{tag}{attrs}>" + (f"</{tag}>" if close else ""))
    tree = parse_html("".join(parts))
    images = extract_images(tree, "http://h.test/d/p.html")
    assert len(images) == len(tree.css("img"))
    extract_links(tree, "http://h.test/d/p.html")


@FUZZ
@given(st.text(max_size=300))
def test_srcset_parser_takes_any_text(srcset):
    assert all(isinstance(url, str) and url for url, _ in parse_srcset(srcset))


@FUZZ
@given(data=st.data(), kind=st.sampled_from(["warc", "warc.gz"]))
def test_warc_reader_counts_damage_instead_of_raising(folder, seeds, data, kind):
    path = folder / f"fuzz.{kind}"
    path.write_bytes(data.draw(mutated(seeds[kind])))
    counts: Counter = Counter()
    pages = list(iter_warc_pages(path, counts, 100_000))
    assert all(isinstance(p.url, str) and isinstance(p.html, str) for p in pages)
    assert all(isinstance(v, int) and v > 0 for v in counts.values())


@FUZZ
@given(st.binary(max_size=3000))
def test_warc_reader_takes_any_bytes(folder, body):
    path = folder / "any.warc"
    path.write_bytes(body)
    counts: Counter = Counter()
    list(iter_warc_pages(path, counts, 100_000))
    list(iter_wat_images(path, counts, 100_000))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


@FUZZ
@given(links=JSON, head=JSON, payload=JSON)
def test_wat_reader_takes_any_json_layout(folder, links, head, payload):
    envelope = wat_envelope("http://h.test/p", PAGE)
    meta = envelope["Envelope"]["Payload-Metadata"]["HTTP-Response-Metadata"]["HTML-Metadata"]
    meta["Links"], meta["Head"] = links, head
    path = folder / "fuzz.wat"
    write_wat(
        path,
        [("http://h.test/p", envelope), ("http://h.test/q", {"Envelope": payload})],
        compress=False,
    )
    counts: Counter = Counter()
    for image in iter_wat_images(path, counts, 100_000):
        assert isinstance(image.url, str) and isinstance(image.alt, str)


@FUZZ
@given(data=st.data())
def test_wat_reader_counts_damage_instead_of_raising(folder, seeds, data):
    path = folder / "mutated.wat"
    path.write_bytes(data.draw(mutated(seeds["wat"])))
    list(iter_wat_images(path, Counter(), 100_000))


@FUZZ
@given(body=st.binary(max_size=2000), suffix=st.sampled_from(sorted(FORMATS)))
def test_validator_gives_one_line_problems_for_any_bytes(folder, body, suffix):
    path = folder / f"any{suffix}"
    path.write_bytes(body)
    report = validate_file(path, load_schema("pairs"))
    _one_line_problems(report.problems, str(path))


@FUZZ
@given(data=st.data())
def test_validator_takes_mutated_parquet(folder, seeds, data):
    path = folder / "mutated.parquet"
    path.write_bytes(data.draw(mutated(seeds["parquet"])))
    report = validate_file(path, load_schema("pairs"))
    _one_line_problems(report.problems, str(path))


COLUMN_TYPES = {
    "string": (pa.string(), st.text(max_size=10)),
    "int": (pa.int64(), st.integers(-(2**62), 2**62)),
    "float": (pa.float64(), st.floats(allow_nan=True)),
    "list": (pa.list_(pa.string()), st.lists(st.text(max_size=4), max_size=3)),
}


@FUZZ
@given(
    columns=st.dictionaries(
        st.sampled_from(["url", "caption", "uid", "lang", "x"]),
        st.sampled_from(sorted(COLUMN_TYPES)),
        max_size=5,
    ),
    rows=st.integers(0, 4),
    data=st.data(),
)
def test_validator_takes_any_table(folder, columns, rows, data):
    arrays = {}
    for name, kind in columns.items():
        arrow_type, values = COLUMN_TYPES[kind]
        items = data.draw(st.lists(st.none() | values, min_size=rows, max_size=rows))
        arrays[name] = pa.array(items, arrow_type)
    path = folder / "table.parquet"
    pq.write_table(pa.table(arrays) if arrays else pa.table({"x": pa.array([], pa.int8())}), path)
    report = validate_file(path, load_schema("pairs"))
    _one_line_problems(report.problems, str(path))
    if "url" not in columns:
        assert not report.ok


@FUZZ
@given(data=st.data())
def test_reader_and_verify_take_mutated_shards(folder, seeds, data):
    shards = folder / "shards"
    shards.mkdir(exist_ok=True)
    path = shards / "00000.tar"
    path.write_bytes(data.draw(mutated(seeds["tar"])))
    for sample_read in shard_pipeline([str(path)]):
        assert isinstance(sample_read["__key__"], str)
    _one_line_problems(verify_shards(shards), "")


@FUZZ
@given(st.binary(max_size=4000))
def test_reader_takes_any_bytes(folder, body):
    path = folder / "any.tar"
    path.write_bytes(body)
    for sample_read in shard_pipeline([str(path)], decode=None):
        assert isinstance(sample_read["__key__"], str)


def test_reader_reads_the_unmutated_seed(folder, seeds):
    path = folder / "seed.tar"
    path.write_bytes(seeds["tar"])
    keys = sorted(s["__key__"] for s in shard_pipeline([str(path)]))
    assert keys == ["000000000", "000000001"]
    with tarfile.open(fileobj=io.BytesIO(seeds["tar"])) as tar:
        assert json.loads(tar.extractfile("000000000.json").read())["key"] == "000000000"

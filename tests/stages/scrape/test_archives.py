"""WARC and WAT reading: real Common Crawl data, and damaged input that never stops a run."""

import gzip
import json
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wit_pipeline.stages.scrape.archives import iter_warc_pages, iter_wat_images
from wit_pipeline.testweb.archives import wat_envelope, write_warc, write_wat

MAX = 5_000_000


def test_real_common_crawl_warc_yields_its_one_html_page(realdata_warc):
    counts = Counter()
    (page,) = list(iter_warc_pages(realdata_warc, counts, MAX))
    assert page.url == "https://an.wikipedia.org/wiki/Escopete"
    assert page.offset == 1023
    assert "<img" in page.html and "Escudo d&#39;armas" in page.html
    assert not counts


def test_page_over_the_limit_is_cut_and_counted(realdata_warc):
    counts = Counter()
    (page,) = list(iter_warc_pages(realdata_warc, counts, 1000))
    assert len(page.html) == 1000 and counts["page_truncated"] == 1


def test_truncated_gzip_is_counted_and_the_prefix_used(realdata_warc, tmp_path):
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(realdata_warc.read_bytes()[:9000])
    counts = Counter()
    pages = list(iter_warc_pages(cut, counts, MAX))
    assert len(pages) == 1 and counts["truncated_record"] == 1


def test_file_that_is_not_a_warc(tmp_path):
    counts = Counter()
    for name, data in [
        ("a.warc.gz", b"\x1f\x8b" + bytes(range(200))),
        ("b.warc", b"hello"),
        ("c.warc.gz", gzip.compress(b"<html>not a warc</html>")),
    ]:
        (tmp_path / name).write_bytes(data)
        assert list(iter_warc_pages(tmp_path / name, counts, MAX)) == []
    assert counts == {"not_a_warc_file": 3}


def test_garbage_after_a_valid_record_is_counted(tmp_path):
    path = tmp_path / "x.warc"
    write_warc(path, [("http://h.test/", b"<img src=a.jpg alt='a b'>")], compress=False)
    path.write_bytes(path.read_bytes() + b"WARC/1.0\r\nGarbage: yes\r\n\r\n\x00\xff" * 3)
    counts = Counter()
    pages = list(iter_warc_pages(path, counts, MAX))
    assert [p.url for p in pages] == ["http://h.test/"]
    assert sum(counts.values()) >= 1


def test_warc_written_by_warcio_round_trips(tmp_path):
    path = tmp_path / "p.warc.gz"
    write_warc(path, [("http://h.test/1", b"<p>one</p>"), ("http://h.test/2", b"<p>two</p>")])
    pages = list(iter_warc_pages(path, Counter(), MAX))
    assert [(p.url, p.html) for p in pages] == [
        ("http://h.test/1", "<p>one</p>"),
        ("http://h.test/2", "<p>two</p>"),
    ]


def test_wat_links_with_base_and_bad_records(tmp_path):
    html = b'<base href="/imgs/"><img src="a.jpg" alt="a red star"><img src="b.jpg">'
    envelopes = [
        ("http://h.test/p", wat_envelope("http://h.test/p", html)),
        ("http://h.test/q", b"{not json"),
        ("http://h.test/r", json.dumps({"Envelope": {"Payload-Metadata": 3}}).encode()),
        ("http://h.test/s", json.dumps({"Something": "else"}).encode()),
    ]
    path = tmp_path / "x.wat.gz"
    write_wat(path, envelopes)
    counts = Counter()
    images = list(iter_wat_images(path, counts, MAX))
    assert [(i.url, i.alt, i.base, i.page_url) for i in images] == [
        ("a.jpg", "a red star", "/imgs/", "http://h.test/p"),
        ("b.jpg", "", "/imgs/", "http://h.test/p"),
    ]
    assert counts["bad_wat_json"] == 3


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payload=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda c: (
                st.lists(c, max_size=3)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "Envelope",
                            "Payload-Metadata",
                            "HTTP-Response-Metadata",
                            "HTML-Metadata",
                            "Links",
                            "Head",
                            "Base",
                            "path",
                            "url",
                            "alt",
                            "WARC-Header-Metadata",
                        ]
                    ),
                    c,
                    max_size=4,
                )
            ),
            max_leaves=20,
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_arbitrary_wat_payloads_never_raise(tmp_path, payload):
    path = tmp_path / "fuzz.wat"
    write_wat(path, [("http://h.test/", payload)], compress=False)
    counts = Counter()
    for image in iter_wat_images(path, counts, MAX):
        assert isinstance(image.url, str) and isinstance(image.alt, str)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_as_warc_never_raise(tmp_path, data):
    path = tmp_path / "fuzz.warc"
    path.write_bytes(b"WARC/1.0\r\n" + data)
    list(iter_warc_pages(path, Counter(), MAX))

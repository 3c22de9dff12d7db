"""The browse page in a real headless Chromium (CDP): search, filter, open a sample, follow a
duplicate, click a funnel bar; assertions on what the page shows, images decoded included."""

import json
from collections.abc import Iterator

import pyarrow.parquet as pq
import pytest

from tests.browse.chrome import Chrome
from wit_pipeline.browse import Filters

CARDS = "[...document.querySelectorAll('.card')]"


@pytest.fixture
def chrome(tmp_path) -> Iterator[Chrome]:
    browser = Chrome(tmp_path / "profile")
    yield browser
    browser.close()


def set_field(chrome: Chrome, name: str, value: str) -> None:
    chrome.run(f"document.getElementById({json.dumps(name)}).value = {json.dumps(value)}")


def cards(chrome: Chrome) -> list[dict]:
    return chrome.run(
        f"{CARDS}.map(c => ({{key: c.dataset.key, keep: c.dataset.keep, "
        "caption: c.querySelector('.caption').textContent, "
        "loaded: c.querySelector('img').naturalWidth}))"
    )


def test_search_filter_open_a_sample_and_follow_a_duplicate(
    chrome, served, index, browse_workspace
):
    chrome.open(served.url)
    assert chrome.run("document.getElementById('summary').textContent") == (
        f"{index.size:,} samples match"
    )
    shown = cards(chrome)
    assert len(shown) == min(index.size, 48)
    decoded = {r.item["key"] for r in index.page(Filters(step="scored"), 0, 1000)}
    downloaded = {r.item["key"] for r in index.page(Filters(step="downloaded"), 0, 1000)}
    assert any(c["key"] in decoded for c in shown) and any(
        c["key"] not in downloaded for c in shown
    )
    assert all(c["loaded"] > 0 for c in shown if c["key"] in decoded)
    assert all(c["loaded"] == 0 for c in shown if c["key"] not in downloaded)

    set_field(chrome, "q", "star")
    set_field(chrome, "in", "captions")
    chrome.click("#go")
    found = cards(chrome)
    assert found and all("star" in c["caption"].lower() for c in found)
    assert [c["key"] for c in found] == [r.item["key"] for r in index.captions("star", k=48)]

    set_field(chrome, "q", "")
    set_field(chrome, "keep", "dropped")
    set_field(chrome, "reason", "duplicate")
    chrome.click("#go")
    duplicates = cards(chrome)
    expected = [r.item["key"] for r in index.page(Filters(keep=False, reason="duplicate"), 0, 48)]
    assert duplicates and [c["key"] for c in duplicates] == expected
    assert all(c["keep"] == "false" for c in duplicates)

    chrome.click(".card")
    key = duplicates[0]["key"]
    item = index.item(key)
    assert chrome.run("document.getElementById('caption').textContent") == item["caption"]
    fields = chrome.run(
        "Object.fromEntries([...document.querySelectorAll('#fields tr')]"
        ".map(r => [r.dataset.field, r.querySelector('td').textContent]))"
    )
    assert fields["reason"] == item["reason"] and fields["duplicate_of"] == item["duplicate_of"]
    assert "duplicate" in fields["why"]
    assert chrome.run("document.getElementById('image').naturalWidth") > 0
    side = chrome.run("[...document.querySelectorAll('#duplicates .dup')].map(d => d.dataset.key)")
    assert side[:2] == [key, item["duplicate_of"]]

    chrome.click(".dup-link")
    original = item["duplicate_of"]
    assert chrome.run("document.title") == f"Sample {original}"
    side = chrome.run(
        "[...document.querySelectorAll('#duplicates .dup')].map(d => "
        "[d.dataset.key, d.querySelector('img').naturalWidth])"
    )
    assert side[0][0] == original and key in [k for k, _ in side]
    assert all(width > 0 for _, width in side)
    rows = pq.read_table(browse_workspace.decisions_path).to_pylist()
    assert {k for k, _ in side} == {original} | {
        r["key"] for r in rows if r["duplicate_of"] == original
    }


def test_a_funnel_bar_opens_the_samples_it_counts(chrome, served, index):
    chrome.open(served.url + "funnel")
    counts = chrome.run(
        "Object.fromEntries([...document.querySelectorAll('tr[data-step]')]"
        ".map(r => [r.dataset.step, Number(r.dataset.count)]))"
    )
    assert counts["kept"] == index.count(Filters(keep=True)) > 0
    chrome.click('a[data-step="kept"]')
    assert chrome.run("document.getElementById('summary').textContent") == (
        f"{counts['kept']:,} samples match"
    )
    assert {c["keep"] for c in cards(chrome)} == {"true"}

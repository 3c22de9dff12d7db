"""The Index over a real filtered test-web workspace: counts agree with the catalog, caption
search ranks by matched words, image search finds a sample itself first, duplicates both
ways, image bytes straight from the raw tar."""

import numpy as np
import pyarrow.parquet as pq
import pytest

from wit_pipeline.browse import Filters
from wit_pipeline.catalog import query_catalog
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.tar import image_member, index_tar, read_member


def decisions(workspace) -> list[dict]:
    return pq.read_table(workspace.decisions_path).to_pylist()


def test_every_decision_is_an_item_and_filters_count_like_sql(index, browse_workspace):
    rows = decisions(browse_workspace)
    assert index.size == len(rows)
    assert index.count(Filters(keep=True)) == sum(r["keep"] for r in rows)
    assert index.count(Filters(keep=False)) == sum(not r["keep"] for r in rows)
    with query_catalog(browse_workspace) as catalog:
        sharded = catalog.scalar("SELECT count(*) FROM manifest")
        english = catalog.scalar("SELECT count(*) FROM scores WHERE lang = 'en'")
    assert index.count(Filters(step="sharded")) == sharded > 0
    assert index.count(Filters(lang="en")) == english > 0


def test_an_entry_finds_the_captions_that_matched_it(index, browse_workspace):
    with query_catalog(browse_workspace) as catalog:
        starred = catalog.scalar(
            "SELECT count(*) FROM entries WHERE list_contains(entries, 'star')"
        )
    found = index.page(Filters(entry="star"), 0, 1000)
    assert len(found) == index.count(Filters(entry="star")) == starred > 0
    assert all("star" in r.item["entries"] and "star" in r.item["caption"] for r in found)
    assert ("star", starred) in index.facets["entry"]


def test_a_reason_finds_every_sample_a_rule_applied_to(index, browse_workspace):
    rows = decisions(browse_workspace)
    for reason in {r["reason"] for r in rows} | {x for r in rows for x in r["reasons"] or []}:
        expected = {
            r["key"] for r in rows if r["reason"] == reason or reason in (r["reasons"] or [])
        }
        found = {r.item["key"] for r in index.page(Filters(reason=reason), 0, 1000)}
        assert expected <= found, reason
        assert all(reason in r.item["why"] for r in index.page(Filters(reason=reason), 0, 1000))


def test_why_starts_with_the_first_reason_and_repeats_none(index):
    items = [r.item for r in index.page(Filters(), 0, 1000)]
    assert all(i["why"][0] == i["reason"] for i in items)
    assert all(len(set(i["why"])) == len(i["why"]) for i in items)
    assert any(len(i["why"]) > 1 for i in items)


def test_pages_follow_one_another(index):
    first, second = index.page(Filters(), 0, 10), index.page(Filters(), 10, 10)
    assert [r.rank for r in second] == list(range(11, 21))
    assert not {r.item["key"] for r in first} & {r.item["key"] for r in second}


def test_size_and_score_ranges(index):
    big = index.page(Filters(min_side=200, min_score=0.0), 0, 1000)
    assert big and all(min(r.item["width"], r.item["height"]) >= 200 for r in big)
    assert all(r.item["clip_score"] >= 0.0 for r in big)
    assert index.count(Filters(min_score=2.0)) == 0


def test_caption_search_puts_every_word_first(index):
    captions = [r.item["caption"] for r in index.page(Filters(), 0, 1000) if r.item["caption"]]
    words = next(c.lower().split() for c in captions if len(c.split()) >= 4)
    query = f"{words[-1]} {words[-3]} zzzunknown"
    results = index.captions(query, k=50)
    assert results and all(r.match == "caption" for r in results)
    first = results[0].item["caption"].lower()
    assert words[-1] in first and words[-3] in first
    scores = [r.score for r in results]
    assert all(s > 0 for s in scores)
    assert index.captions("zzzunknown") == []


def test_caption_search_honours_filters(index):
    dropped = index.captions("a", Filters(keep=False), k=100)
    assert dropped and not any(r.item["keep"] for r in dropped)


def test_image_search_finds_the_sample_itself_first(index):
    kept = index.page(Filters(keep=True), 0, 1)[0].item
    found = index.images_like(kept["key"], k=5)
    assert found[0].item["key"] == kept["key"]
    assert found[0].score == pytest.approx(1.0, abs=1e-4)
    assert [r.score for r in found] == sorted((r.score for r in found), reverse=True)
    only_dropped = index.images_like(kept["key"], Filters(keep=False), k=5)
    assert only_dropped and not any(r.item["keep"] for r in only_dropped)


def test_text_search_uses_the_filters_model(index):
    results = index.search("a red star", k=4)
    assert len(results) == 4 and {r.match for r in results} == {"text-image"}
    assert all(-1.0 <= r.score <= 1.0 for r in results)
    assert index.search("a red star", mode="captions", k=4)[0].match == "caption"


def test_duplicates_both_ways(index, browse_workspace):
    pair = next(r for r in decisions(browse_workspace) if r["duplicate_of"])
    assert pair["key"] in {d["key"] for d in index.duplicates(pair["duplicate_of"])}
    assert pair["duplicate_of"] in {d["key"] for d in index.duplicates(pair["key"])}


def test_image_bytes_are_the_raw_members(index, browse_workspace):
    item = index.page(Filters(step="downloaded"), 0, 1)[0].item
    tar = browse_workspace.raw_dir / f"{item['shard']}.tar"
    expected = read_member(tar, image_member(index_tar(tar), item["key"]))
    data, kind = index.images.read(item["shard"], item["key"])
    assert data == expected and kind.startswith("image/")
    assert (browse_workspace.shards_dir / "00000.tar").is_file()
    assert index.images.read("../shards/00000", item["key"]) is None
    assert index.images.read(item["shard"], "no-such-key") is None


def test_bad_like_and_wrong_dimension_are_input_errors(index):
    with pytest.raises(InputError, match="no sample with that key"):
        index.images_like("nope")
    with pytest.raises(InputError, match="another model"):
        index.nearest(np.ones(7, dtype=np.float32))

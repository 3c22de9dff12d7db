"""write_shards: every kept sample once, full shards, copied bytes, deterministic for a seed."""

import json
import tarfile
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.stages.shard.conftest import SAMPLES_PER_SHARD
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.shard import verify_shards, write_shards


def kept_keys(workspace: Workspace) -> set[tuple[str, str]]:
    """(raw shard, raw key) of every kept decision."""
    table = pq.read_table(workspace.decisions_path)
    kept = table.filter(pc.equal(table["keep"], True))
    return set(zip(kept["shard"].to_pylist(), kept["key"].to_pylist(), strict=True))


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """The visible files of a shard folder, by name."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_every_kept_sample_once_in_full_shards(sharded_workspace):
    shards = sharded_workspace.shards_dir
    manifest = pq.read_table(shards / "manifest.parquet")
    kept = kept_keys(sharded_workspace)
    assert len(kept) > 2 * SAMPLES_PER_SHARD
    raw_pairs = [
        (json.loads(t)["raw_shard"], json.loads(t)["raw_key"])
        for name in sorted(shards.glob("*.tar"))
        for t in _members(name, ".json").values()
    ]
    assert sorted(raw_pairs) == sorted(kept)
    sizes = json.loads((shards / "sizes.json").read_text())
    counts = list(sizes.values())
    assert sorted(sizes) == sorted(p.name for p in shards.glob("*.tar"))
    assert counts[:-1] == [SAMPLES_PER_SHARD] * (len(counts) - 1)
    assert 1 <= counts[-1] <= SAMPLES_PER_SHARD
    assert sum(counts) == manifest.num_rows == len(kept)
    keys = manifest["key"].to_pylist()
    assert len(set(keys)) == len(keys) and not any("." in k for k in keys)
    assert verify_shards(shards, sharded_workspace) == []


def _members(path: Path, suffix: str) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {
            m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.name.endswith(suffix)
        }


def test_images_are_copied_bytes_and_metadata_is_complete(sharded_workspace):
    raw_images = {}
    for raw in sorted(sharded_workspace.raw_dir.glob("*.tar")):
        for name, data in _members(raw, ".jpg").items():
            raw_images[(raw.stem, name.split(".")[0])] = data
    manifest = {
        r["key"]: r
        for r in pq.read_table(sharded_workspace.shards_dir / "manifest.parquet").to_pylist()
    }
    for shard in sorted(sharded_workspace.shards_dir.glob("*.tar")):
        metas = _members(shard, ".json")
        images = _members(shard, ".jpg")
        for name, text in metas.items():
            meta = json.loads(text)
            key = name.split(".")[0]
            assert images[f"{key}.jpg"] == raw_images[(meta["raw_shard"], meta["raw_key"])]
            assert meta["url"].startswith("http") and meta["original_width"] > 0
            assert {"caption", "clip_score", "clip_model", "phash", "width", "height"} <= set(meta)
            row = manifest[key]
            assert (row["url"], row["caption"], row["raw_key"]) == (
                meta["url"],
                meta["caption"],
                meta["raw_key"],
            )


def test_manifest_offsets_point_at_each_sample_first_header(sharded_workspace):
    shards = sharded_workspace.shards_dir
    for row in pq.read_table(shards / "manifest.parquet").to_pylist():
        with open(shards / row["shard"], "rb") as handle:
            handle.seek(row["offset"])
            header = tarfile.TarInfo.frombuf(handle.read(512), "utf-8", "surrogateescape")
        assert header.name == f"{row['key']}.jpg"


def test_headers_are_fixed_and_indexes_written(sharded_workspace):
    shards = sharded_workspace.shards_dir
    with tarfile.open(next(iter(sorted(shards.glob("*.tar"))))) as tar:
        headers = {(m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) for m in tar.getmembers()}
    assert headers == {(0, 0, 0, "", "", 0o444)}
    index = json.loads((shards / "index.wids.json").read_text())
    assert index["__kind__"] == "wids-shard-index-v1"
    assert [(s["url"], s["nsamples"]) for s in index["shardlist"]] == list(
        json.loads((shards / "sizes.json").read_text()).items()
    )
    assert all(s["filesize"] == (shards / s["url"]).stat().st_size for s in index["shardlist"])
    stats = json.loads((shards / "stats.json").read_text())
    assert stats["samples"] == sum(s["nsamples"] for s in index["shardlist"])


def test_same_seed_same_bytes_other_seed_other_order(filtered_workspace, tmp_path):
    first = write_shards(filtered_workspace, SAMPLES_PER_SHARD, seed=7, out=tmp_path / "a")
    write_shards(filtered_workspace, SAMPLES_PER_SHARD, seed=7, out=tmp_path / "b")
    write_shards(filtered_workspace, SAMPLES_PER_SHARD, seed=8, out=tmp_path / "c")
    same, other = folder_bytes(tmp_path / "a"), folder_bytes(tmp_path / "c")
    assert first.written == first.shards > 1
    assert folder_bytes(tmp_path / "b") == same
    assert same.keys() == other.keys()
    assert same["00000.tar"] != other["00000.tar"]

    def order(folder: str) -> list[str]:
        return pq.read_table(tmp_path / folder / "manifest.parquet")["raw_key"].to_pylist()

    assert order("a") != order("c") and sorted(order("a")) == sorted(order("c"))


def test_rerun_skips_done_shards_and_new_options_rewrite(filtered_workspace):
    write_shards(filtered_workspace, SAMPLES_PER_SHARD, seed=0)
    again = write_shards(filtered_workspace, SAMPLES_PER_SHARD, seed=0)
    assert again.written == 0 and again.resumed == again.shards
    bigger = write_shards(filtered_workspace, 2 * SAMPLES_PER_SHARD, seed=0)
    assert bigger.written == bigger.shards
    shards = filtered_workspace.shards_dir
    assert len(list(shards.glob("*.tar"))) == bigger.shards
    assert verify_shards(shards, filtered_workspace) == []


def test_bad_input_is_an_input_error(filtered_workspace, tmp_path):
    with pytest.raises(InputError, match="samples-per-shard"):
        write_shards(filtered_workspace, samples_per_shard=0)
    with pytest.raises(InputError, match="run filter first"):
        write_shards(Workspace(tmp_path / "empty"))
    (filtered_workspace.raw_dir / "00000.tar").unlink()
    with pytest.raises(InputError, match=r"00000\.tar.*missing"):
        write_shards(filtered_workspace)
    assert not filtered_workspace.shards_dir.exists()


def test_process_pool_writes_the_same_bytes(filtered_workspace, tmp_path):
    write_shards(filtered_workspace, SAMPLES_PER_SHARD, seed=1, out=tmp_path / "one")
    pooled = write_shards(
        filtered_workspace, SAMPLES_PER_SHARD, seed=1, out=tmp_path / "two", processes=2
    )
    assert pooled.written == pooled.shards > 1
    assert folder_bytes(tmp_path / "two") == folder_bytes(tmp_path / "one")

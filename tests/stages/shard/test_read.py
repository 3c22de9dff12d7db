"""Reading the shards back: webdataset's own reader and the streaming reader under a DataLoader."""

import io
import logging
import shutil
import tarfile
import time

import pyarrow.parquet as pq
import pytest
import torch
import webdataset as wds
import wids
from PIL import Image

from wit_pipeline.reader import shard_pipeline, shard_urls
from wit_pipeline.stages.shard.write import tar_info


def manifest_rows(workspace) -> dict[str, dict]:
    """The manifest rows by key."""
    table = pq.read_table(workspace.shards_dir / "manifest.parquet")
    return {row["key"]: row for row in table.to_pylist()}


def brace_pattern(workspace) -> str:
    """`.../{00000..0000N}.tar` for the workspace's shards."""
    last = len(list(workspace.shards_dir.glob("*.tar"))) - 1
    return str(workspace.shards_dir / f"{{00000..{last:05d}}}.tar")


def assert_matches_manifest(sample: dict, manifest: dict[str, dict]) -> None:
    """A decoded sample carries its manifest row's caption, url and image size."""
    row = manifest[sample["__key__"]]
    assert sample["txt"] == row["caption"]
    assert sample["json"]["url"] == row["url"]
    assert isinstance(sample["jpg"], Image.Image)
    assert sample["jpg"].size == (row["width"], row["height"])


def test_webdataset_reads_every_sample(sharded_workspace):
    manifest = manifest_rows(sharded_workspace)
    dataset = wds.WebDataset(brace_pattern(sharded_workspace), shardshuffle=False).decode("pil")
    samples = list(dataset)
    assert sorted(s["__key__"] for s in samples) == sorted(manifest)
    for sample in samples:
        assert_matches_manifest(sample, manifest)


def epoch_keys(loader) -> list[str]:
    return [sample["__key__"] for sample in loader]


def test_reader_two_workers_every_sample_once_per_epoch(sharded_workspace):
    manifest = manifest_rows(sharded_workspace)
    data = shard_pipeline(sharded_workspace.shards_dir, epoch_seed=3, shuffle_buffer=4)
    loader = torch.utils.data.DataLoader(data, batch_size=None, num_workers=2)
    orders = []
    for epoch in range(2):
        data.set_epoch(epoch)
        samples = list(loader)
        keys = [s["__key__"] for s in samples]
        assert sorted(keys) == sorted(manifest)
        for sample in samples:
            assert_matches_manifest(sample, manifest)
        orders.append(keys)
    assert orders[0] != orders[1]
    data.set_epoch(0)
    assert epoch_keys(loader) == orders[0]


def test_reader_source_forms_agree(sharded_workspace, tmp_path):
    folder = shard_urls(sharded_workspace.shards_dir)
    assert shard_urls(brace_pattern(sharded_workspace)) == folder
    assert shard_urls(folder) == folder
    with pytest.raises(ValueError, match="no shards"):
        shard_urls(tmp_path)
    with pytest.raises(ValueError, match="no such shard"):
        shard_urls(str(tmp_path / "{00000..00001}.tar"))


def test_reader_fewer_shards_than_workers_is_an_error(sharded_workspace):
    data = shard_pipeline(shard_urls(sharded_workspace.shards_dir)[:1])
    loader = torch.utils.data.DataLoader(data, batch_size=None, num_workers=2)
    with pytest.raises(ValueError, match=r"1 shards for 2 readers"):
        list(loader)


def test_reader_splits_by_node(sharded_workspace, monkeypatch):
    keys = []
    for rank in range(2):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        keys += epoch_keys(shard_pipeline(sharded_workspace.shards_dir, epoch_seed=1))
    assert sorted(keys) == sorted(manifest_rows(sharded_workspace))


def test_reader_resampled_epoch_is_bounded_overall(sharded_workspace):
    manifest = manifest_rows(sharded_workspace)
    data = shard_pipeline(sharded_workspace.shards_dir, resampled=True, samples_per_epoch=11)
    loader = torch.utils.data.DataLoader(data, batch_size=None, num_workers=2)
    keys = epoch_keys(loader)
    assert len(keys) == 11 and set(keys) <= set(manifest)
    with pytest.raises(ValueError, match="samples_per_epoch"):
        shard_pipeline(sharded_workspace.shards_dir, resampled=True)


def test_reader_skips_corrupt_sample_without_sleeping(sharded_workspace, tmp_path, caplog):
    folder = tmp_path / "shards"
    shutil.copytree(sharded_workspace.shards_dir, folder)
    shutil.rmtree(folder / ".done")  # shards from elsewhere: every tar is read
    bad = io.BytesIO(b"not a jpeg")
    with tarfile.open(folder / "99999.tar", "w", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(tar_info("badsample.jpg", len(bad.getvalue())), bad)
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="wit_pipeline.reader"):
        keys = epoch_keys(shard_pipeline(folder))
    assert sorted(keys) == sorted(manifest_rows(sharded_workspace))
    assert "skipping corrupt data" in caplog.text
    assert time.monotonic() - start < 5


def test_wids_index_gives_random_access(sharded_workspace):
    dataset = wids.ShardListDataset(
        str(sharded_workspace.shards_dir / "index.wids.json"), transformations=[]
    )
    keys = sorted(manifest_rows(sharded_workspace))
    assert len(dataset) == len(keys)
    for index in (0, len(keys) // 2, len(keys) - 1):
        assert dataset[index]["__key__"] == keys[index]


def test_reader_reads_only_shards_whose_marker_names_their_size(
    sharded_workspace, tmp_path, caplog
):
    folder = tmp_path / "shards"
    shutil.copytree(sharded_workspace.shards_dir, folder)
    committed = shard_urls(folder)
    assert (folder / ".done").is_dir() and len(committed) >= 3
    shutil.copy(committed[0], folder / "00099.tar")  # uploaded, never committed
    cut = committed[1]
    with open(cut, "rb") as shard:
        head = shard.read(1024)
    with open(cut, "wb") as shard:
        shard.write(head)  # replaced by a cut copy after its marker was written
    with caplog.at_level(logging.WARNING, logger="wit_pipeline.reader"):
        trusted = shard_urls(folder)
        keys = [s["__key__"] for s in shard_pipeline(folder, decode=None)]
    assert trusted == [url for url in committed if url != cut]
    assert (
        f"{folder / '00099.tar'}: left out: no completion marker (never committed)" in caplog.text
    )
    assert f"{cut}: left out: 1024 bytes, its marker says" in caplog.text
    expected = set()
    for url in trusted:
        with tarfile.open(url) as shard:
            expected |= {m.name.split(".")[0] for m in shard.getmembers()}
    assert sorted(keys) == sorted(expected)
    shutil.rmtree(folder / ".done")  # shards from elsewhere: no markers, every tar is read
    assert len(shard_urls(folder)) == len(committed) + 1

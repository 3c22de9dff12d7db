"""Shards on an fsspec filesystem: written to memory:// and file:// URLs, verified there and
read back through the streaming reader, resumed from what was uploaded."""

import json

import fsspec
import pyarrow.parquet as pq
import torch
import webdataset as wds

from tests.stages.shard.conftest import SAMPLES_PER_SHARD
from tests.stages.shard.test_write import folder_bytes
from wit_pipeline.cli import main
from wit_pipeline.core import storage
from wit_pipeline.reader import shard_pipeline
from wit_pipeline.stages.shard import verify_shards, write_shards


def url_files(url: str) -> dict[str, bytes]:
    """The files directly in folder `url`, by name."""
    return {name: storage.read_bytes(storage.join(url, name)) for name in storage.file_sizes(url)}


def test_memory_url_gets_the_local_bytes_and_reads_back(filtered_workspace, memory_url, tmp_path):
    local = write_shards(filtered_workspace, SAMPLES_PER_SHARD, seed=2, out=tmp_path / "local")
    remote = write_shards(filtered_workspace, SAMPLES_PER_SHARD, seed=2, out=memory_url)
    assert remote.written == remote.shards == local.shards > 1
    uploaded, written = url_files(memory_url), folder_bytes(tmp_path / "local")
    tars = sorted(name for name in written if name.endswith(".tar"))
    assert {name: uploaded[name] for name in tars} == {name: written[name] for name in tars}
    assert uploaded["sizes.json"] == written["sizes.json"]
    index = json.loads(uploaded["index.wids.json"])
    assert [s["url"] for s in index["shardlist"]] == [f"{memory_url}/{name}" for name in tars]
    assert storage.exists(f"{memory_url}/.done/_SUCCESS.json")
    with storage.open_input(f"{memory_url}/manifest.parquet") as handle:
        manifest = pq.read_table(handle)
    assert manifest.equals(pq.read_table(tmp_path / "local" / "manifest.parquet"))
    assert verify_shards(memory_url, filtered_workspace) == []

    samples = list(shard_pipeline(memory_url, epoch_seed=1, decode="pil"))
    assert sorted(s["__key__"] for s in samples) == sorted(manifest["key"].to_pylist())
    captions = dict(zip(manifest["key"].to_pylist(), manifest["caption"].to_pylist(), strict=True))
    assert all(s["txt"] == captions[s["__key__"]] and s["jpg"].size[0] > 0 for s in samples)


def test_file_url_is_written_in_place_and_read_by_webdataset(filtered_workspace, tmp_path, capsys):
    url = f"file://{tmp_path}/out"
    summary = write_shards(filtered_workspace, SAMPLES_PER_SHARD, seed=4, out=url)
    reference = write_shards(filtered_workspace, SAMPLES_PER_SHARD, seed=4, out=tmp_path / "ref")
    assert folder_bytes(tmp_path / "out") == folder_bytes(tmp_path / "ref")
    last = summary.shards - 1
    dataset = wds.WebDataset(f"{url}/{{00000..{last:05d}}}.tar", shardshuffle=False)
    assert len(list(dataset.decode("pil"))) == reference.samples
    loader = torch.utils.data.DataLoader(shard_pipeline(url), batch_size=None, num_workers=2)
    assert len([s["__key__"] for s in loader]) == reference.samples
    assert main(["--workdir", str(filtered_workspace.root), "verify-shards", url]) == 0
    assert capsys.readouterr().out.strip().endswith(": ok")


def test_remote_resume_keeps_uploaded_shards_and_redoes_the_rest(filtered_workspace, memory_url):
    first = write_shards(filtered_workspace, 3, seed=6, out=memory_url)
    before = url_files(memory_url)
    fs = fsspec.filesystem("memory")
    for name in ("sizes.json", "manifest.parquet", ".done/_SUCCESS.json"):
        storage.remove(f"{memory_url}/{name}")
    storage.remove(f"{memory_url}/00001.tar")
    storage.remove(f"{memory_url}/.done/00002.json")
    fs.pipe_file(f"{memory_url}/00003.tar".removeprefix("memory:/"), b"half a shard")
    fs.pipe_file(f"{memory_url}/.manifest-parts/00004.parquet".removeprefix("memory:/"), b"cut")

    resumed = write_shards(filtered_workspace, 3, seed=6, out=memory_url)
    assert (resumed.written, resumed.resumed) == (4, first.shards - 4)
    assert url_files(memory_url) == before
    assert verify_shards(memory_url, filtered_workspace) == []

    other_plan = write_shards(filtered_workspace, 4, seed=6, out=memory_url)
    assert other_plan.written == other_plan.shards
    assert len(storage.glob(memory_url, "*.tar")) == other_plan.shards
    assert verify_shards(memory_url, filtered_workspace) == []


def test_cli_shards_to_a_url_and_verifies_it(filtered_workspace, memory_url, capsys):
    root = str(filtered_workspace.root)
    assert (
        main(["--workdir", root, "shard", "-q", "--out", memory_url, "--samples-per-shard", "5"])
        == 0
    )
    assert main(["--workdir", root, "verify-shards", memory_url]) == 0
    assert capsys.readouterr().out.strip() == f"{memory_url}: ok"
    storage.remove(f"{memory_url}/00000.tar")
    assert main(["--workdir", root, "verify-shards", memory_url]) == 1
    assert "00000.tar" in capsys.readouterr().err


def test_url_without_its_filesystem_package_exit_2(filtered_workspace, capsys):
    root = str(filtered_workspace.root)
    assert main(["--workdir", root, "shard", "--out", "oss://bucket/shards"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "oss://bucket/shards" in error and "pip install ossfs" in error
    assert not filtered_workspace.shards_dir.exists()
    assert main(["verify-shards", "oss://bucket/shards"]) == 2
    assert "pip install ossfs" in capsys.readouterr().err

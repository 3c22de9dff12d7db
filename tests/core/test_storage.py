"""fsspec paths: local ones keep atomic renames, remote ones get whole uploads, and a missing
filesystem package is one line naming it."""

import json

import pytest

from wit_pipeline.core import storage
from wit_pipeline.core.atomic import stale_temps
from wit_pipeline.core.errors import InputError


def test_protocols_and_local_paths(tmp_path):
    assert [storage.protocol(u) for u in ("a/b", "file:///a", "s3://b/k", "memory://x")] == [
        "",
        "file",
        "s3",
        "memory",
    ]
    assert storage.protocol("simplecache::s3://b/k") == "simplecache::s3"
    assert storage.is_local(tmp_path) and storage.is_local(f"file://{tmp_path}")
    assert storage.is_remote("s3://bucket/shards") and storage.is_remote("memory://x")
    assert storage.local_path(f"file://{tmp_path}/x") == tmp_path / "x"
    assert storage.join(tmp_path, "a", "b.json") == str(tmp_path / "a" / "b.json")
    assert (
        storage.join("s3://bucket/shards/", ".done", "x.json") == "s3://bucket/shards/.done/x.json"
    )


@pytest.fixture(params=["local", "memory"])
def folder(request, tmp_path) -> str:
    """A folder URL: a plain local path, or a memory:// folder."""
    return (
        str(tmp_path / "out") if request.param == "local" else request.getfixturevalue("memory_url")
    )


def test_write_read_list_remove(folder):
    storage.write_json(storage.join(folder, "b.json"), {"z": 1, "a": [2]})
    storage.write_bytes(storage.join(folder, "a.tar"), b"tar bytes")
    storage.write_bytes(storage.join(folder, "sub", "c.tar"), b"deeper")
    assert (
        storage.read_bytes(storage.join(folder, "b.json"))
        == b'{\n  "a": [\n    2\n  ],\n  "z": 1\n}\n'
    )
    assert storage.file_sizes(folder) == {"a.tar": 9, "b.json": 33}
    assert storage.glob(folder, "*.tar") == [storage.join(folder, "a.tar")]
    assert storage.size(storage.join(folder, "a.tar")) == 9
    assert storage.size(storage.join(folder, "missing.tar")) is None
    assert storage.is_dir(folder) and not storage.is_dir(storage.join(folder, "a.tar"))
    assert [u.rsplit("/", 1)[-1] for u in storage.find(folder)] == ["a.tar", "b.json", "c.tar"]
    storage.remove(storage.join(folder, "a.tar"))
    storage.remove(storage.join(folder, "a.tar"))
    assert not storage.exists(storage.join(folder, "a.tar"))
    with storage.open_input(storage.join(folder, "b.json"), "rb") as handle:
        assert json.load(handle) == {"z": 1, "a": [2]}


def test_atomic_output_appears_whole_or_not_at_all(folder, tmp_path):
    target = storage.join(folder, "x.parquet")
    with pytest.raises(RuntimeError), storage.atomic_output(target) as temp:
        temp.write_bytes(b"half")
        raise RuntimeError("killed")
    assert not storage.exists(target)
    with storage.atomic_output(target) as temp:
        temp.write_bytes(b"whole")
    assert storage.read_bytes(target) == b"whole"
    if storage.is_local(folder):
        assert stale_temps(tmp_path / "out") == []


def test_put_file_publishes_and_removes_the_local_copy(folder, tmp_path):
    local = tmp_path / "staged.tar"
    local.write_bytes(b"a finished shard")
    storage.put_file(local, storage.join(folder, "00000.tar"))
    assert storage.read_bytes(storage.join(folder, "00000.tar")) == b"a finished shard"
    assert not local.exists()


def test_version_changes_when_a_file_is_rewritten(folder):
    target = storage.join(folder, "urls.parquet")
    storage.write_bytes(target, b"one")
    first = storage.version(target)
    storage.write_bytes(target, b"two, longer")
    assert storage.version(target) != first and storage.version(target).startswith("11\t")


def test_missing_package_and_unknown_protocol_are_one_line():
    with pytest.raises(
        InputError, match=r"oss://bucket/x: .*needs the ossfs package \(pip install ossfs\)"
    ):
        storage.url_to_fs("oss://bucket/x")
    with pytest.raises(InputError, match="nope://x: Protocol not known"):
        storage.exists("nope://x")

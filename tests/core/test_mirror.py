"""The local mirror of a workspace on object storage (memory:// here): what a pull copies and
trusts, what a push uploads and deletes, and error messages naming the store."""

import json

import fsspec
import pytest

from wit_pipeline.core.mirror import Mirror, with_urls
from wit_pipeline.core.staging import Staging

BASE = "/wit-mirror-test/w"
URL = f"memory:/{BASE}"


@pytest.fixture
def store():
    fs = fsspec.filesystem("memory")
    fs.pipe_file(f"{BASE}/raw/00000.tar", b"t" * 10)
    fs.pipe_file(f"{BASE}/raw/00000.parquet", b"p" * 5)
    objects = {"raw/00000.tar": {"size": 10}, "raw/00000.parquet": {"size": 5}}
    fs.pipe_file(f"{BASE}/raw/.done/00000.json", json.dumps({"objects": objects}).encode())
    fs.pipe_file(f"{BASE}/raw/00001.parquet", b"q" * 5)
    lost = {"raw/00001.tar": {"size": 10}, "raw/00001.parquet": {"size": 5}}
    fs.pipe_file(f"{BASE}/raw/.done/00001.json", json.dumps({"objects": lost}).encode())
    yield fs
    fs.rm("/wit-mirror-test", recursive=True)


def test_a_pull_copies_small_files_and_only_markers_whose_objects_are_there(store):
    mirror = Mirror.open(URL)
    try:
        files = (p for p in mirror.root.rglob("*") if p.is_file())
        local = sorted(p.relative_to(mirror.root).as_posix() for p in files)
        assert local == ["raw/.done/00000.json", "raw/00000.parquet", "raw/00001.parquet"]
        store.pipe_file(f"{BASE}/raw/00000.tar", b"t" * 9)  # cut short after the pull
        mirror.pull()
        assert not (mirror.root / "raw/.done/00000.json").exists()
    finally:
        mirror.close()


def test_a_push_uploads_what_changed_and_deletes_what_was_removed(store):
    mirror = Mirror.open(URL)
    try:
        (mirror.root / "decisions.parquet").write_bytes(b"d")
        (mirror.root / "raw/00001.parquet").unlink()
        mirror.push()
        assert store.cat_file(f"{BASE}/decisions.parquet") == b"d"
        assert not store.exists(f"{BASE}/raw/00001.parquet")
        mirror.remove_everywhere(mirror.root / "raw")
        assert not store.exists(f"{BASE}/raw/00000.tar")
    finally:
        mirror.close()


def test_error_messages_name_the_store_not_the_local_folder(store):
    mirror = Mirror.open(URL)
    try:
        assert with_urls(f"{mirror.root}/raw: no raw shards") == f"{URL}/raw: no raw shards"
    finally:
        mirror.close()


def test_a_unit_names_the_objects_it_left_as_they_were(store, tmp_path):
    mirror = Mirror.open(URL)
    try:
        staging = Staging(mirror.root, URL, tmp_path)
        out = staging.output(mirror.root / "raw")
        staging.fetch(mirror.root / "raw/00000.parquet")
        (tmp_path / "raw/00002.parquet").write_bytes(b"n" * 3)
        objects = staging.upload()
        assert {name: facts["size"] for name, facts in objects.items()} == {
            "raw/00000.parquet": 5,
            "raw/00002.parquet": 3,
        }
        assert out == str(tmp_path / "raw")
        assert store.cat_file(f"{BASE}/raw/00002.parquet") == b"n" * 3
    finally:
        mirror.close()

"""download reads its URL table from an fsspec URL (memory:// here, s3:// on a cluster)."""

import pyarrow.parquet as pq
import pytest

from tests.workspaces import FAST, write_urls
from wit_pipeline.core import storage
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.download import InputSpec, download


def raw_rows(workspace: Workspace) -> list[tuple]:
    files = sorted(workspace.raw_dir.glob("[0-9]*.parquet"))
    rows = [r for f in files for r in pq.read_table(f).to_pylist()]
    return [(r["key"], r["url"], r["caption"], r["status"], r["sha256"]) for r in rows]


def test_url_table_from_a_url_downloads_like_the_local_file(
    testweb_truth,
    memory_url,
    tmp_path,
):
    rows = [r for r in testweb_truth if r["kind"] == "ok"][:12]
    local = write_urls(tmp_path / "urls.parquet", rows)
    storage.write_bytes(f"{memory_url}/in/urls.parquet", local.read_bytes())
    expected = download(Workspace(tmp_path / "a"), InputSpec(local, samples_per_shard=8), FAST)
    remote = Workspace(tmp_path / "b")
    spec = InputSpec(f"{memory_url}/in/urls.parquet", samples_per_shard=8)
    summary = download(remote, spec, FAST)
    assert summary.rows == expected.rows == 12 and summary.shards == 2
    assert raw_rows(remote) == raw_rows(Workspace(tmp_path / "a"))
    assert download(remote, spec, FAST).shards_skipped == 2
    folder = download(Workspace(tmp_path / "c"), InputSpec(f"{memory_url}/in"), FAST)
    assert folder.rows == 12


def test_bad_url_input_names_the_url(memory_url, tmp_path):
    storage.write_bytes(f"{memory_url}/urls.parquet", b"not parquet")
    with pytest.raises(InputError, match=rf"^{memory_url}/urls\.parquet: ") as error:
        download(Workspace(tmp_path / "w"), InputSpec(f"{memory_url}/urls.parquet"), FAST)
    assert "wit-input-" not in str(error.value)
    with pytest.raises(InputError, match=r"missing\.parquet: no such file or folder"):
        download(Workspace(tmp_path / "w"), InputSpec(f"{memory_url}/missing.parquet"), FAST)
    with pytest.raises(InputError, match="pip install ossfs"):
        download(Workspace(tmp_path / "w"), InputSpec("oss://bucket/urls.parquet"), FAST)
    assert not (tmp_path / "w").exists()


def test_download_command_takes_a_url(testweb_truth, memory_url, tmp_path):
    """`wit-pipeline download URL` passes the URL through untouched (a Path would mangle it)."""
    from wit_pipeline.cli import main

    rows = [r for r in testweb_truth if r["kind"] == "ok"][:6]
    local = write_urls(tmp_path / "urls.parquet", rows)
    storage.write_bytes(f"{memory_url}/urls.parquet", local.read_bytes())
    workdir = tmp_path / "w"
    argv = ["--workdir", str(workdir), "-q", "download", f"{memory_url}/urls.parquet"]
    flags = ["--processes", "1", "--timeout", "1", "--retries", "1", "--allow-private-networks"]
    assert main([*argv, *flags]) == 0
    assert len(raw_rows(Workspace(workdir))) == 6

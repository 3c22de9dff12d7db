"""download reads its URL table from an fsspec URL (memory:// here, s3:// on a cluster) or an
http(s):// URL (through the download's own fetcher: a deadline, a size cap, the guard)."""

import tempfile
import time

import pyarrow.parquet as pq
import pytest

from tests.reliability.sites import Answer, serving
from tests.workspaces import FAST, write_urls
from wit_pipeline.core import storage
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.download import InputSpec, download
from wit_pipeline.testweb.hostile import HostileServer


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


def test_an_http_input_downloads_like_the_local_file(testweb_truth, tmp_path):
    rows = [r for r in testweb_truth if r["kind"] == "ok"][:6]
    local = write_urls(tmp_path / "urls.parquet", rows)
    with serving({"/lists/urls.parquet": Answer(body=local.read_bytes())}) as site:
        spec = InputSpec(f"{site.origin}/lists/urls.parquet", allow_private_networks=True)
        remote = Workspace(tmp_path / "b")
        assert download(remote, spec, FAST).rows == 6
        assert download(remote, spec, FAST).shards_skipped == 1
    download(Workspace(tmp_path / "a"), InputSpec(local), FAST)
    assert raw_rows(remote) == raw_rows(Workspace(tmp_path / "a"))


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """The folder temporary copies go to, to check that nothing is left there."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize(
    ("path", "options", "message"),
    [
        ("/endless.csv", {"max_bytes": 1_000_000}, r"over 1000000 bytes \(--max-input-bytes"),
        ("/chunked/size-line-drip.jpg", {"timeout": 1.0}, r"within 1 s \(--input-timeout 1 s\)"),
        ("/endless.csv", {"allow_private_networks": False}, r"--allow-private-networks"),
    ],
)
def test_an_http_input_has_a_deadline_a_cap_and_the_guard(
    tmp_path, private_tmp, path, options, message
):
    """An endless CSV filled a 200 MB TMPDIR in 0.7 s: now it stops at the cap, a dripping
    one at the deadline, an inward one at the guard; nothing stays behind."""
    with HostileServer() as server:
        spec = InputSpec(server.url(path), **{"allow_private_networks": True, **options})
        start = time.monotonic()
        with pytest.raises(InputError, match=rf"^{server.url(path)}: cannot fetch .*{message}"):
            download(Workspace(tmp_path / "w"), spec, FAST)
    assert time.monotonic() - start < 10
    assert list(private_tmp.iterdir()) == []
    assert not (tmp_path / "w").exists()

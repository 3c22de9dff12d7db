"""scrape reads WARC and WAT files from fsspec URLs (memory:// here, s3:// on a cluster)."""

import pyarrow.parquet as pq

from wit_pipeline.cli import main
from wit_pipeline.core import storage
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.testweb.archives import wat_envelope, write_wat


def pairs_of(root) -> list[dict]:
    files = sorted(Workspace(root).pairs_dir.glob("part-*.parquet"))
    return sorted((r for f in files for r in pq.read_table(f).to_pylist()), key=lambda r: r["uid"])


def scrape(root, *sources: str) -> int:
    return main(["--workdir", str(root), "scrape", *sources, "--processes", "1", "-q"])


def test_warc_and_wat_urls_give_the_local_pairs(realdata_warc, memory_url, tmp_path):
    wat = tmp_path / "crawl.wat.gz"
    page = b'<html><body><img src="/cat.jpg" alt="a grey cat on a mat"></body></html>'
    envelope = wat_envelope("https://example.test/page", page)
    write_wat(wat, [("https://example.test/page", envelope)])
    storage.write_bytes(f"{memory_url}/crawl/a.warc.gz", realdata_warc.read_bytes())
    storage.write_bytes(f"{memory_url}/crawl/b.wat.gz", wat.read_bytes())
    assert scrape(tmp_path / "local", str(realdata_warc), str(wat)) == 0
    assert scrape(tmp_path / "remote", f"{memory_url}/crawl") == 0
    local, remote = pairs_of(tmp_path / "local"), pairs_of(tmp_path / "remote")
    assert len(remote) > 5 and "https://example.test/cat.jpg" in {r["url"] for r in remote}
    assert [(r["url"], r["caption"]) for r in remote] == [(r["url"], r["caption"]) for r in local]
    assert scrape(tmp_path / "remote", f"{memory_url}/crawl") == 0


def test_bad_source_urls_exit_2(memory_url, tmp_path, capsys):
    assert scrape(tmp_path / "w", f"{memory_url}/missing.warc.gz") == 2
    assert "missing.warc.gz: no such file or folder" in capsys.readouterr().err
    storage.write_bytes(f"{memory_url}/page.html", b"<html></html>")
    assert scrape(tmp_path / "w", f"{memory_url}/page.html") == 2
    assert "not a source" in capsys.readouterr().err
    assert scrape(tmp_path / "w", "oss://bucket/crawl.warc.gz") == 2
    assert "pip install ossfs" in capsys.readouterr().err
    assert not Workspace(tmp_path / "w").pairs_dir.exists()

"""A headerless TSV (CC3M's caption<TAB>url) read by position downloads like the same rows in a
parquet with named columns; the command line takes it as --no-header --url-col 1."""

import pyarrow.parquet as pq

from tests.workspaces import FAST, write_urls
from wit_pipeline.cli import main
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.download import InputSpec, download


def _rows(workspace: Workspace) -> list[tuple]:
    files = sorted(workspace.raw_dir.glob("[0-9]*.parquet"))
    rows = [r for f in files for r in pq.read_table(f).to_pylist()]
    return [(r["key"], r["url"], r["caption"], r["status"], r["sha256"]) for r in rows]


def test_headerless_tsv_by_position(tmp_path, testweb_truth, capsys):
    rows = [r for r in testweb_truth if r["kind"] == "ok"][:6]
    named = write_urls(tmp_path / "urls.parquet", rows)
    captions = pq.read_table(named)["caption"].to_pylist()
    tsv = tmp_path / "cc3m.tsv"
    tsv.write_text("".join(f"{c}\t{r['url']}\n" for c, r in zip(captions, rows, strict=True)))
    download(Workspace(tmp_path / "a"), InputSpec(named, samples_per_shard=4), FAST)
    spec = InputSpec(tsv, url_col="1", caption_col="0", samples_per_shard=4, header=False)
    download(Workspace(tmp_path / "b"), spec, FAST)
    assert _rows(Workspace(tmp_path / "b")) == _rows(Workspace(tmp_path / "a"))
    assert len(_rows(Workspace(tmp_path / "a"))) == 6
    argv = ["--workdir", str(tmp_path / "c"), "download", str(tsv), "--url-col", "url"]
    assert main([*argv, "--no-header"]) == 2
    assert "column 'url' is missing (columns: 0, 1)" in capsys.readouterr().err

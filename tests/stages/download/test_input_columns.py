"""Input columns as img2dataset users have them: a headerless TSV (CC3M's caption<TAB>url) read
by position downloads like the same rows with named columns (--no-header --url-col 1), and
columns the download does not read never block it, whatever their types."""

import pyarrow as pa
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


def test_unused_columns_of_other_types_do_not_block(tmp_path, testweb_truth, capsys):
    rows = [r for r in testweb_truth if r["kind"] == "ok"][:3]
    table = pa.table(
        {
            "link": [r["url"] for r in rows],
            "text": ["a red circle", None, "a blue square"],
            "caption": [1, 2, 3],
            "url": [4.0, 5.0, 6.0],
        }
    )
    pq.write_table(table, tmp_path / "mapped.parquet")
    spec = InputSpec(tmp_path / "mapped.parquet", url_col="link", caption_col="text")
    summary = download(Workspace(tmp_path / "w"), spec, FAST)
    assert summary.status == {"success": 3}
    captions = [r[2] for r in _rows(Workspace(tmp_path / "w"))]
    assert captions == ["a red circle", None, "a blue square"]
    argv = ["--workdir", str(tmp_path / "x"), "download", str(tmp_path / "mapped.parquet")]
    assert main([*argv, "--url-col", "link", "--caption-col", "caption"]) == 2
    assert "column 'caption': type int64, expected string" in capsys.readouterr().err

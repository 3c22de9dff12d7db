"""`wit-pipeline adopt` on folders the real img2dataset CLI wrote, then filter, shard and
verify-shards on the adopted workspace as on a download."""

import json
import shutil

import fsspec
import pyarrow.parquet as pq
import pytest
import webdataset as wds

from tests.stages.adopt.conftest import FORMATS
from wit_pipeline.cli import main
from wit_pipeline.core.markers import Markers
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.core.validate import validate_file
from wit_pipeline.core.workspace import Workspace


def _adopt(root, source, *flags) -> int:
    return main(["-q", "--workdir", str(root), "adopt", str(source), *flags])


def _source_images(source, output_format) -> dict[str, bytes]:
    """The image bytes img2dataset wrote, by key, whatever the output format."""
    images = {}
    for parquet in sorted(source.glob("[0-9]*.parquet")):
        if output_format == "parquet":
            rows = pq.read_table(parquet, columns=["key", "jpg"]).to_pylist()
            images.update({r["key"]: r["jpg"] for r in rows if r["jpg"] is not None})
        elif output_format == "files":
            images.update({p.stem: p.read_bytes() for p in (source / parquet.stem).glob("*.jpg")})
        else:
            tar = str(parquet.with_suffix(".tar"))
            images.update({s["__key__"]: s["jpg"] for s in wds.WebDataset(tar, shardshuffle=False)})
    return images


@pytest.mark.parametrize("output_format", FORMATS)
def test_adopt_then_filter_shard_verify(img2dataset_output, adopt_urls, tmp_path, output_format):
    source = img2dataset_output[output_format]
    workspace = Workspace(tmp_path / "w")
    assert _adopt(workspace.root, source) == 0
    raw = workspace.raw_dir
    names = sorted(p.stem for p in source.glob("[0-9]*.parquet"))
    assert len(names) >= 2 and Markers(raw).done_units() == names and Markers(raw).stage_done()
    rows = 0
    for name in names:
        assert validate_file(raw / f"{name}.parquet", load_schema("samples")).ok
        table = pq.read_table(raw / f"{name}.parquet").to_pylist()
        rows += len(table)
        assert [r["key"] for r in table] == sorted(r["key"] for r in table)
        failed = [r for r in table if r["status"] != "success"]
        assert all(r["error_code"] and r["error_code"] != "other" for r in failed)
        stats = json.loads((raw / f"{name}_stats.json").read_text())
        assert stats["resize_mode"] == "border" and stats["count"] == len(table)
    assert rows == len(adopt_urls[1])
    adopted = {
        s["__key__"]: s
        for s in wds.WebDataset(sorted(str(p) for p in raw.glob("*.tar")), shardshuffle=False)
    }
    assert {k: s["jpg"] for k, s in adopted.items()} == _source_images(source, output_format)
    assert all("txt" in s and "url" in json.loads(s["json"]) for s in adopted.values())
    if output_format == "webdataset":
        for name in names:
            assert (raw / f"{name}.tar").read_bytes() == (source / f"{name}.tar").read_bytes()

    root = str(workspace.root)
    assert main(["-q", "--workdir", root, "filter", "--clip-model", "none", "--workers", "0"]) == 0
    decisions = pq.read_table(workspace.decisions_path).to_pylist()
    assert len(decisions) == rows and any(d["keep"] for d in decisions)
    codes = {r for d in decisions if not d["keep"] for r in d["reasons"]}
    assert "failed_to_download" in codes
    assert main(["-q", "--workdir", root, "shard", "--samples-per-shard", "8"]) == 0
    assert main(["verify-shards", str(workspace.shards_dir)]) == 0
    sizes = json.loads((workspace.shards_dir / "sizes.json").read_text())
    assert sum(sizes.values()) == sum(d["keep"] for d in decisions)


def test_adopt_resumes_by_shard(img2dataset_output, tmp_path, capsys):
    workspace = Workspace(tmp_path / "w")
    source = img2dataset_output["webdataset"]
    assert _adopt(workspace.root, source) == 0
    Markers(workspace.raw_dir).forget("00001")
    (workspace.raw_dir / "00001.tar").unlink()
    capsys.readouterr()
    assert main(["--workdir", str(workspace.root), "adopt", str(source)]) == 0
    assert "(1 copied, 2 resumed)" in capsys.readouterr().out
    assert (workspace.raw_dir / "00001.tar").is_file()


def test_damaged_shards_are_refused_one_line_each(img2dataset_output, tmp_path, capsys):
    source = tmp_path / "out"
    shutil.copytree(img2dataset_output["webdataset"], source)
    tar = source / "00000.tar"
    tar.write_bytes(tar.read_bytes()[:5000])
    (source / "00001_stats.json").unlink()
    workspace = tmp_path / "w"
    assert _adopt(workspace, source) == 2
    err = capsys.readouterr().err
    assert "shard 00000 refused" in err and "shard 00001 refused" in err
    assert "did not finish this shard" in err and "2 of " in err.splitlines()[-1]
    assert not workspace.exists()
    assert _adopt(workspace, source, "--skip-damaged") == 0
    kept = sorted(p.stem for p in Workspace(workspace).raw_dir.glob("[0-9]*.parquet"))
    assert "00000" not in kept and "00001" not in kept and kept


def test_raw_of_another_source_is_refused(img2dataset_output, tmp_path, capsys):
    workspace = tmp_path / "w"
    assert _adopt(workspace, img2dataset_output["webdataset"]) == 0
    assert _adopt(workspace, img2dataset_output["parquet"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert _adopt(workspace, img2dataset_output["parquet"], "--overwrite") == 0
    stats = json.loads((Workspace(workspace).raw_dir / "00000_stats.json").read_text())
    assert stats["adopted_format"] == "parquet"


def test_not_an_img2dataset_folder_exit_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert _adopt(tmp_path / "w", tmp_path / "empty") == 2
    assert _adopt(tmp_path / "w", tmp_path / "missing") == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert "no img2dataset shards" in lines[0] and "no such folder" in lines[1]
    assert not (tmp_path / "w").exists()


def test_adopt_from_an_fsspec_url(img2dataset_output, tmp_path):
    fs = fsspec.filesystem("memory")
    source = img2dataset_output["webdataset"]
    for path in source.iterdir():
        fs.pipe_file(f"/adopt-src/{path.name}", path.read_bytes())
    workspace = Workspace(tmp_path / "w")
    assert _adopt(workspace.root, "memory://adopt-src") == 0
    for path in source.glob("*.tar"):
        assert (workspace.raw_dir / path.name).read_bytes() == path.read_bytes()


def test_adopt_in_a_run_config_then_up_to_date(img2dataset_output, tmp_path):
    from wit_pipeline import api

    config = {
        "workdir": str(tmp_path / "w"),
        "scrape": False,
        "download": False,
        "adopt": {"path": str(img2dataset_output["webdataset"])},
        "filter": {"clip_model": "none", "workers": 0},
        "shard": {"samples_per_shard": 8},
        "report": False,
    }
    first = api.run(config)
    assert [(o.stage, o.ran) for o in first] == [("adopt", True), ("filter", True), ("shard", True)]
    assert [o.ran for o in api.run(config)] == [False, False, False]

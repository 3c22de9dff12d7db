"""The demo end to end at toy size: four runs, each from its own filter, written to demo.json
and printed as a table; a rerun reuses every stage."""

import contextlib
import io
import json
import re

import pytest

from wit_pipeline.cli import main
from wit_pipeline.demo import RUNS, DemoOptions

TOY = ["--pool-pages", "8", "--seed-pages", "4", "--steps", "2", "--bootstrap-steps", "2"]
TOY += ["--batch-size", "16", "--eval-samples", "48", "--scale", "2", "--image-tower", "cnn"]
"""Tiny webs and a few steps of each run (--scale 2 doubles the pages and the steps)."""
ROW = re.compile(r"^(\w+) +([\d,]+) +(\d\.\d{3}) +(\d\.\d{3}) +(\d\.\d{3})$")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """A toy demo run once for the module: its workdir, argv and printed table."""
    root = tmp_path_factory.mktemp("demo")
    argv = ["--workdir", str(root), "-q", "demo", *TOY]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(argv)
    assert code == 0
    return root, argv, printed.getvalue()


def test_demo_writes_one_row_per_run_from_its_own_filter(demo_run):
    root, _, _ = demo_run
    summary = json.loads((root / "demo.json").read_text())
    assert [r["name"] for r in summary["runs"]] == list(RUNS)
    assert summary["steps"] == 4 and summary["options"]["pool_pages"] == 16
    assert summary["options"]["image_tower"] == "cnn" != DemoOptions().image_tower
    samples = {r["name"]: r["samples"] for r in summary["runs"]}
    assert samples["no_filter"] > samples["basic"] > samples["clip_score"] > 0
    assert samples["clip_score"] >= samples["clip_score_dedupe"] > 0
    for run in summary["runs"]:
        for metric in ("zero_shot_shape_top1", "zero_shot_color_top1", "i2t_r1"):
            assert 0.0 <= run[metric] <= 1.0
    decisions = root / "runs" / "basic" / "decisions.parquet"
    assert decisions.is_file() and (root / "shards" / "sizes.json").is_file()
    model = json.loads((root / "seed" / "model" / "open_clip_config.json").read_text())
    assert model["model_cfg"]["vision_cfg"]["timm_model_name"] == "wit_cnn"


def test_demo_prints_the_table_of_its_runs(demo_run):
    root, _, table = demo_run
    summary = json.loads((root / "demo.json").read_text())
    lines = table.splitlines()
    assert lines[0].split() == ["run", "samples", "shape", "top-1", "colour", "top-1", "i2t", "R@1"]
    rows = [ROW.match(line) for line in lines[1 : 1 + len(RUNS)]]
    assert all(rows), lines
    for row, run in zip(rows, summary["runs"], strict=True):
        assert row[1] == run["name"] and int(row[2].replace(",", "")) == run["samples"]
        assert float(row[3]) == pytest.approx(run["zero_shot_shape_top1"], abs=5e-4)
        assert float(row[5]) == pytest.approx(run["i2t_r1"], abs=5e-4)
    assert lines[1 + len(RUNS)].startswith("(each run 4 steps of 16; chance: shape 0.10")
    assert len(lines) == 2 + len(RUNS)


def test_demo_again_reuses_every_stage(demo_run, capsys):
    root, argv, _ = demo_run
    before = (root / "runs" / "basic" / "shards" / "00000.tar").stat().st_mtime_ns
    assert main([*argv[:2], *argv[3:]]) == 0
    err = capsys.readouterr().err
    assert "up to date" in err
    assert (root / "runs" / "basic" / "shards" / "00000.tar").stat().st_mtime_ns == before

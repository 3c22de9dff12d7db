"""The demo end to end at toy size: four runs, each from its own filter, written to demo.json."""

import json

import pytest

from wit_pipeline.cli import main
from wit_pipeline.demo import RUNS


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """A toy demo: tiny webs, a few training steps; its workdir and printed table."""
    root = tmp_path_factory.mktemp("demo")
    argv = ["--workdir", str(root), "-q", "demo", "--pool-pages", "16", "--seed-pages", "8"]
    argv += ["--steps", "4", "--bootstrap-steps", "4", "--batch-size", "16", "--eval-samples", "48"]
    return root, argv


def test_demo_writes_one_row_per_run_from_its_own_filter(demo_run, capsys):
    root, argv = demo_run
    assert main(argv) == 0
    table = capsys.readouterr().out
    summary = json.loads((root / "demo.json").read_text())
    assert [r["name"] for r in summary["runs"]] == list(RUNS)
    samples = {r["name"]: r["samples"] for r in summary["runs"]}
    assert samples["no_filter"] > samples["basic"] > samples["clip_score"] > 0
    assert samples["clip_score"] >= samples["clip_score_dedupe"] > 0
    for run in summary["runs"]:
        for metric in ("zero_shot_shape_top1", "zero_shot_color_top1", "i2t_r1"):
            assert 0.0 <= run[metric] <= 1.0
        assert f"{run['name']:<20} {run['samples']:>8,}" in table
    decisions = root / "runs" / "basic" / "decisions.parquet"
    assert decisions.is_file() and (root / "shards" / "sizes.json").is_file()
    assert (root / "seed" / "model" / "open_clip_config.json").is_file()


def test_demo_again_reuses_every_stage(demo_run, capsys):
    root, argv = demo_run
    before = (root / "runs" / "basic" / "shards" / "00000.tar").stat().st_mtime_ns
    assert main([*argv[:2], *argv[3:]]) == 0
    err = capsys.readouterr().err
    assert "up to date" in err
    assert (root / "runs" / "basic" / "shards" / "00000.tar").stat().st_mtime_ns == before

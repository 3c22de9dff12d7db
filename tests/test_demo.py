"""The demo end to end at toy size: five runs, each from its own filter, written to demo.json
and printed as a table with head and tail concepts apart; a rerun reuses every stage."""

import contextlib
import io
import json
import re
from collections import Counter

import pyarrow.parquet as pq
import pytest

from wit_pipeline.cli import main
from wit_pipeline.demo import RUNS, DemoOptions, head_concepts
from wit_pipeline.testweb.vocab import COLOURS, SHAPES

TOY = ["--pool-pages", "8", "--seed-pages", "4", "--steps", "2", "--bootstrap-steps", "2"]
TOY += ["--batch-size", "16", "--eval-samples", "48", "--scale", "2", "--image-tower", "cnn"]
TOY += ["--balance-cap", "4"]
"""Tiny webs, a few steps of each run and a cap the head entries pass (--scale 2 doubles the
pages, the steps and the cap)."""
TASK = r"(\d\.\d{3}) \((\d\.\d{3}) / (\d\.\d{3})\)"
ROW = re.compile(rf"^(\w+) +([\d,]+) +{TASK} +{TASK} +(\d\.\d{{3}})$")


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
    assert samples["clip_score"] >= samples["clip_score_dedupe"] >= samples["balanced"] > 0
    for run in summary["runs"]:
        for task in ("shape", "color"):
            head, tail = run[f"zero_shot_{task}_head_top1"], run[f"zero_shot_{task}_tail_top1"]
            assert min(head, tail) <= run[f"zero_shot_{task}_top1"] <= max(head, tail)
        assert 0.0 <= run["i2t_r1"] <= 1.0
    decisions = root / "runs" / "basic" / "decisions.parquet"
    assert decisions.is_file() and (root / "shards" / "sizes.json").is_file()
    model = json.loads((root / "seed" / "model" / "open_clip_config.json").read_text())
    assert model["model_cfg"]["vision_cfg"]["timm_model_name"] == "wit_cnn"


def test_demo_prints_the_table_of_its_runs(demo_run):
    root, _, table = demo_run
    summary = json.loads((root / "demo.json").read_text())
    lines = table.splitlines()
    header = ["run", "samples", "shape", "(head", "/", "tail)", "colour", "(head", "/", "tail)"]
    assert lines[0].split() == [*header, "i2t", "R@1"]
    rows = [ROW.match(line) for line in lines[1 : 1 + len(RUNS)]]
    assert all(rows), lines
    for row, run in zip(rows, summary["runs"], strict=True):
        assert row[1] == run["name"] and int(row[2].replace(",", "")) == run["samples"]
        shown = [float(value) for value in row.groups()[2:]]
        expected = [
            run[f"zero_shot_{task}_{part}top1"]
            for task in ("shape", "color")
            for part in ("", "head_", "tail_")
        ]
        assert shown == pytest.approx([*expected, run["i2t_r1"]], abs=5.1e-4)
    assert lines[1 + len(RUNS)].startswith("(each run 4 steps of 16; chance: shape 0.10")
    assert len(lines) == 2 + len(RUNS)


def test_demo_again_reuses_every_stage(demo_run, capsys):
    root, argv, _ = demo_run
    before = (root / "runs" / "basic" / "shards" / "00000.tar").stat().st_mtime_ns
    assert main([*argv[:2], *argv[3:]]) == 0
    err = capsys.readouterr().err
    assert "up to date" in err
    assert (root / "runs" / "basic" / "shards" / "00000.tar").stat().st_mtime_ns == before


def test_the_balanced_run_caps_the_head_entries_of_a_long_tailed_pool(demo_run):
    root, _, _ = demo_run
    options = json.loads((root / "demo.json").read_text())["options"]
    assert options["concept_skew"] == 1.0 and options["balance_cap"] == 8
    assert (root / "entries.txt").read_text().split() == [*SHAPES, *COLOURS]

    def reasons(workdir):
        rows = pq.read_table(workdir / "decisions.parquet", columns=["reasons"]).to_pylist()
        return Counter(reason for row in rows for reason in row["reasons"])

    assert reasons(root / "runs" / "balanced")["balanced_out"] > 0
    assert reasons(root)["balanced_out"] == 0


def test_head_concepts_make_half_of_a_zipf_pool():
    assert head_concepts(SHAPES, 1.0) == SHAPES[:2]
    assert head_concepts(tuple(COLOURS), 1.0) == tuple(COLOURS)[:3]
    assert head_concepts(SHAPES, 0.0) == SHAPES[:5]
    assert head_concepts(SHAPES, 3.0) == SHAPES[:1]

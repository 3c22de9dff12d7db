"""Fixtures of the report tests: a test-web workspace taken through every stage (scraped,
downloaded, filtered with a tiny CLIP, sharded, with training results) and its report."""

import json
import shutil
from pathlib import Path

import pytest

from wit_pipeline.cli import main
from wit_pipeline.core.workspace import Workspace

SAMPLES_PER_SHARD = 5
TRAIN_STEPS = 30


def write_training_results(workspace: Workspace) -> None:
    """Training results as train_small and the demo write them: metrics.jsonl, result.json
    and demo.json."""
    train = workspace.root / "train"
    train.mkdir()
    rows = [{"step": s, "loss": 4.0 / s, "lr": 1e-3, "epoch": 0} for s in range(1, TRAIN_STEPS + 1)]
    (train / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (train / "result.json").write_text(json.dumps({"steps": TRAIN_STEPS, "final_loss": 0.14}))
    runs = [
        {"name": "no_filter", "samples": 53, "zero_shot_shape_top1": 0.41, "i2t_r1": 0.1},
        {"name": "clip_score_dedupe", "samples": 15, "zero_shot_shape_top1": 0.62, "i2t_r1": 0.2},
    ]
    (workspace.root / "demo.json").write_text(json.dumps({"runs": runs, "steps": TRAIN_STEPS}))


def run_cli(workspace: Workspace, *args: str) -> None:
    """Run one wit-pipeline command on `workspace`; it must succeed."""
    assert main(["--workdir", str(workspace.root), "-q", *args]) == 0, args


@pytest.fixture(scope="session")
def reported_workspace(
    downloaded_testweb: Path,
    testweb,
    tiny_clip_dir: Path,
    tmp_path_factory,
) -> Workspace:
    """A copy of the downloaded test web, scraped, filtered, sharded, with training results
    and a report: read-only for tests."""
    workspace = Workspace(tmp_path_factory.mktemp("reported") / "w")
    shutil.copytree(downloaded_testweb, workspace.root)
    run_cli(
        workspace,
        "scrape",
        f"{testweb.origin}/index.html",
        "--rate",
        "1000",
        "--allow-private-networks",
    )
    run_cli(
        workspace,
        "filter",
        "--clip-model",
        f"local-dir:{tiny_clip_dir}",
        "--device",
        "cpu",
        "--workers",
        "0",
        "--min-clip-score",
        "0.0",
    )
    run_cli(workspace, "shard", "--samples-per-shard", str(SAMPLES_PER_SHARD))
    write_training_results(workspace)
    run_cli(workspace, "report")
    return workspace


@pytest.fixture(scope="session")
def report_html(reported_workspace: Workspace) -> str:
    """The text of the report."""
    return (reported_workspace.report_dir / "index.html").read_text(encoding="utf-8")

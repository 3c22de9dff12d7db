"""The training reader takes what it finds: metrics of every run, a loss PNG when a run has no
metrics, numbers of result files, the demo's runs; it skips what it cannot read."""

import io
import json

from PIL import Image

from tests.report.page import read_page
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.report.html import render_section
from wit_pipeline.report.training import read_training, training_section


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def test_runs_metrics_pictures_results_and_demo(tmp_path):
    workspace = Workspace(tmp_path)
    runs = tmp_path / "train"
    (runs / "a").mkdir(parents=True)
    (runs / "b").mkdir()
    (runs / "a" / "metrics.jsonl").write_text(
        '{"step": 1, "loss": 3.0}\nnot json\n{"step": 2, "train_loss": 2.5}\n[1]\n{"epoch": 0}\n'
    )
    (runs / "a" / "loss_curve.png").write_bytes(_png())
    (runs / "b" / "loss_curve.png").write_bytes(_png())
    (runs / "b" / "zero_shot.json").write_text(json.dumps({"shapes": {"top1": 0.8}, "note": "x"}))
    (runs / "b" / "result.json").write_text(json.dumps({"steps": 100, "final_loss": 0.5}))
    (tmp_path / "demo.json").write_text(json.dumps({"runs": [{"name": "basic", "samples": 9}, 3]}))

    found = read_training(workspace)
    assert found.curves == [("a", [1.0, 2.0], [3.0, 2.5])]
    assert [name for name, _ in found.images] == ["b"], "a has metrics: its PNG is not needed"
    assert sorted(found.results) == [
        ("b", "result: final_loss", 0.5),
        ("b", "result: steps", 100.0),
        ("b", "zero_shot: shapes.top1", 0.8),
    ]
    assert found.demo_runs == [{"name": "basic", "samples": 9}]
    assert found.unreadable == [f"{runs / 'a' / 'metrics.jsonl'}: 1 lines are not JSON"]
    page = read_page(render_section(training_section(workspace)))
    assert page.sections == {"training": True} and len(page.image_sources) == 2


def test_broken_files_are_skipped_not_raised(tmp_path):
    workspace = Workspace(tmp_path)
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "loss.png").write_bytes(b"not a png")
    (tmp_path / "train" / "eval.json").write_text("{")
    (tmp_path / "demo.json").write_text("[1, 2]")
    found = read_training(workspace)
    assert not found.found()
    assert f"{tmp_path / 'train' / 'eval.json'}: not JSON" in found.unreadable
    section = training_section(workspace)
    assert not section.ran and "wit-pipeline train" in section.body

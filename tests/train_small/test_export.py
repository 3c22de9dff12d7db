"""Export: the trained model as an open_clip local-dir folder that the filter stage loads, and
(issue #5) that a model trained on clean test-web-like pairs scores true captions above
mismatched ones."""

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from tests.workspaces import FAST
from train_small import TrainConfig, export_local_dir, train
from train_small.evaluation import load_model
from train_small.export import CONFIG_NAME, WEIGHTS_NAME
from wit_pipeline.cli import main
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.scoring.clip import ClipScorer, ClipSpec
from wit_pipeline.scoring.towers import CNN_TOWER, PlainCNN
from wit_pipeline.stages.download import InputSpec, download

from .conftest import TINY


def _scores_by_url(workspace: Workspace) -> dict[str, float]:
    decisions = pq.read_table(workspace.decisions_path, columns=["key", "clip_score"]).to_pylist()
    urls = {
        row["key"]: row["url"]
        for path in sorted(workspace.raw_dir.glob("[0-9]*.parquet"))
        for row in pq.read_table(path, columns=["key", "url"]).to_pylist()
    }
    return {urls[d["key"]]: d["clip_score"] for d in decisions if d["clip_score"] is not None}


def test_exported_folder_loads_in_the_clip_scorer_with_the_same_weights(trained_run, tmp_path):
    folder = export_local_dir(trained_run.checkpoint, tmp_path / "export")
    assert sorted(p.name for p in folder.iterdir()) == sorted([CONFIG_NAME, WEIGHTS_NAME])
    scorer = ClipScorer(ClipSpec(f"local-dir:{folder}", None), device="cpu")
    ours = load_model(trained_run.checkpoint).eval()
    images = torch.rand(3, 3, 32, 32)
    captions = ["a red circle", "two blue stars", "ein Quadrat in Grün"]
    scores, image_embeddings, _ = scorer.score(images, captions)
    with torch.no_grad():
        expected = torch.nn.functional.normalize(ours.encode_image(images), dim=-1)
    assert torch.allclose(torch.from_numpy(image_embeddings), expected, atol=1e-5)
    assert scores.shape == (3,) and ((scores >= -1) & (scores <= 1)).all()


def test_resnet_tower_exports_a_plain_open_clip_folder_the_scorer_loads(tiny_shards, tmp_path):
    resnet = {**TINY, "image_tower": "resnet", "resnet_width": 8, "steps": 3, "workers": 0}
    run = train(TrainConfig(shards=str(tiny_shards), out_dir=tmp_path / "run", **resnet))
    folder = export_local_dir(run.checkpoint, tmp_path / "export")
    scorer = ClipScorer(ClipSpec(f"local-dir:{folder}", None), device="cpu")
    ours = load_model(run.checkpoint).eval()
    assert type(ours.visual).__name__ == "ModifiedResNet"
    images = torch.rand(2, 3, 32, 32)
    _, image_embeddings, _ = scorer.score(images, ["a red circle", "two blue stars"])
    with torch.no_grad():
        expected = torch.nn.functional.normalize(ours.encode_image(images), dim=-1)
    assert torch.allclose(torch.from_numpy(image_embeddings), expected, atol=1e-5)


def test_cnn_tower_exports_a_folder_the_scorer_loads_with_the_same_weights(tiny_shards, tmp_path):
    cnn = {**TINY, "image_tower": "cnn", "image_size": 64, "steps": 3, "workers": 0}
    run = train(TrainConfig(shards=str(tiny_shards), out_dir=tmp_path / "run", **cnn))
    folder = export_local_dir(run.checkpoint, tmp_path / "export")
    config = json.loads((folder / CONFIG_NAME).read_text())
    assert config["model_cfg"]["vision_cfg"]["timm_model_name"] == CNN_TOWER
    scorer = ClipScorer(ClipSpec(f"local-dir:{folder}", None), device="cpu")
    assert scorer.input_side == 64
    ours = load_model(run.checkpoint).eval()
    assert isinstance(ours.visual.trunk, PlainCNN)
    images = torch.rand(2, 3, 64, 64)
    _, image_embeddings, _ = scorer.score(images, ["a red circle", "two blue stars"])
    with torch.no_grad():
        expected = torch.nn.functional.normalize(ours.encode_image(images), dim=-1)
    assert torch.allclose(torch.from_numpy(image_embeddings), expected, atol=1e-5)


def test_filter_command_scores_the_test_web_with_the_exported_model(
    trained_run, downloaded_testweb, tmp_path
):
    folder = export_local_dir(trained_run.checkpoint, tmp_path / "export")
    workspace = Workspace(tmp_path / "w")
    shutil.copytree(downloaded_testweb, workspace.root)
    argv = ["--workdir", str(workspace.root), "filter", "--clip-model", f"local-dir:{folder}"]
    assert main([*argv, "--device", "cpu"]) == 0
    decisions = pq.read_table(workspace.decisions_path).to_pylist()
    scored = [d for d in decisions if d["clip_score"] is not None]
    assert len(scored) >= 20
    assert {d["clip_model"] for d in scored} == {ClipSpec(f"local-dir:{folder}", None).model_id}


def test_issue5_trained_model_scores_matched_captions_above_mismatched(
    trained_run, testweb_truth, tmp_path
):
    rows = [r for r in testweb_truth if r["kind"] == "ok" and r["boilerplate"] == "none"]
    mismatched = {r["url"] for r in rows if r["mismatched"]}
    assert len(mismatched) >= 2
    urls = tmp_path / "urls.parquet"
    captions = [r["page_caption"] for r in rows]
    pq.write_table(pa.table({"url": [r["url"] for r in rows], "caption": captions}), urls)
    workspace = Workspace(tmp_path / "w")
    download(workspace, InputSpec(urls, samples_per_shard=40), FAST)
    folder = export_local_dir(trained_run.checkpoint, tmp_path / "export")
    argv = ["--workdir", str(workspace.root), "filter", "--clip-model", f"local-dir:{folder}"]
    assert main([*argv, "--device", "cpu", "--no-dedupe"]) == 0
    scores = _scores_by_url(workspace)
    bad = [score for url, score in scores.items() if url in mismatched]
    good = [score for url, score in scores.items() if url not in mismatched]
    assert len(bad) >= 2 and len(good) >= 10
    assert sum(good) / len(good) > sum(bad) / len(bad)

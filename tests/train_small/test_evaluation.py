"""Evaluation: zero-shot with prompt ensembles, retrieval recall, linear probe."""

import math

import pytest
import torch

from train_small import evaluate, export_local_dir
from train_small.evaluation import TEMPLATES, retrieval_recalls, zero_shot_accuracy
from train_small.probe import linear_probe_accuracy

RECALLS = [f"{d}_r{k}" for d in ("i2t", "t2i") for k in (1, 5, 10)]


def test_trained_model_beats_chance_and_metrics_are_sane(trained_run, eval_shards):
    metrics = evaluate(trained_run.checkpoint, str(eval_shards))
    assert metrics["samples"] == 300 and metrics["retrieval_pool"] == 300
    assert metrics["shape_classes"] == 10 and metrics["colour_classes"] == 11
    per_class, counts = metrics["zero_shot_colour_per_class"], metrics["colour_class_samples"]
    assert len(per_class) == 11 and all(0.0 <= top1 <= 1.0 for top1 in per_class.values())
    labelled = sum(counts.values())
    assert 0 < labelled <= 300 and set(counts) == set(per_class)
    correct = sum(per_class[name] * counts[name] for name in counts)
    assert correct / labelled == pytest.approx(metrics["zero_shot_colour_top1"], abs=1e-5)
    for name in RECALLS:
        assert 0.0 <= metrics[name] <= 1.0
    for direction in ("i2t", "t2i"):
        assert (
            metrics[f"{direction}_r1"] <= metrics[f"{direction}_r5"] <= metrics[f"{direction}_r10"]
        )
    chance_colour = 1 / metrics["colour_classes"]
    assert metrics["zero_shot_colour_top1"] > 2 * chance_colour
    assert metrics["linear_probe_colour_top1"] > 2 * chance_colour
    assert metrics["i2t_r10"] > 10 / 300, "retrieval beats chance"
    assert 0.0 <= metrics["zero_shot_shape_top1"] <= 1.0
    assert 0.0 <= metrics["linear_probe_shape_top1"] <= 1.0


def test_checkpoint_and_exported_folder_evaluate_alike(trained_run, eval_shards, tmp_path):
    folder = export_local_dir(trained_run.checkpoint, tmp_path / "export")
    from_checkpoint = evaluate(trained_run.checkpoint, str(eval_shards), label_keys=("colour",))
    from_folder = evaluate(f"local-dir:{folder}", str(eval_shards), label_keys=("colour",))
    per_class = from_checkpoint.pop("zero_shot_colour_per_class")
    assert from_folder.pop("zero_shot_colour_per_class") == pytest.approx(per_class, abs=1e-6)
    assert from_folder.pop("colour_class_samples") == from_checkpoint.pop("colour_class_samples")
    assert from_folder == pytest.approx(from_checkpoint, abs=1e-6)


def test_retrieval_recall_counts_the_rank_of_the_own_pair():
    texts = torch.eye(12)
    images = texts.clone()
    images[0] = texts[1] * 0.9 + texts[0] * 0.1
    recalls = retrieval_recalls(images, texts)
    assert recalls["i2t_r1"] == pytest.approx(11 / 12) and recalls["i2t_r5"] == 1.0
    assert recalls["t2i_r1"] == 1.0, "text 0 still ranks its own image first"


def test_zero_shot_ignores_unlabelled_images_and_ensembles_prompts(trained_run):
    from train_small.evaluation import _encode_texts, load_model

    model = load_model(trained_run.checkpoint).eval()
    prompts = [t.format("red") for t in TEMPLATES["colour"]]
    red = torch.nn.functional.normalize(_encode_texts(model, prompts).mean(dim=0), dim=0)
    images = torch.stack([red, red, -red])
    accuracy, per_class = zero_shot_accuracy(
        model, images, ["red", None, "blue"], TEMPLATES["colour"]
    )
    assert per_class == {"blue": 1.0, "red": 1.0} and accuracy == pytest.approx(1.0)
    images = torch.stack([red, -red, -red])
    accuracy, per_class = zero_shot_accuracy(
        model, images, ["red", "red", "blue"], TEMPLATES["colour"]
    )
    assert per_class == {"blue": 1.0, "red": 0.5} and accuracy == pytest.approx(2 / 3)


def test_linear_probe_separates_separable_features():
    features = torch.randn(80, 6)
    labels = ["left" if f[0] < 0 else "right" for f in features]
    assert linear_probe_accuracy(features, labels) >= 0.9
    assert math.isnan(linear_probe_accuracy(features, ["one"] * 80))

"""Evaluation on held-out labelled shards: zero-shot classification with prompt ensembling,
image<->text retrieval recall at 1/5/10, and a linear probe on frozen image features.

Labels come from each sample's json (`json["labels"][key]`, null = unlabelled for that key);
the class names of a key are the label values present in the set.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import open_clip
import torch
import torch.nn.functional as F

from wit_pipeline.reader import shard_pipeline

from .checkpoint import load_checkpoint
from .data import caption_text, decode_image, image_bytes
from .model import build_model, normalise, tokenizer
from .probe import linear_probe_accuracy

TEMPLATES: dict[str, tuple[str, ...]] = {
    "shape": (
        "a photo of a {}.",
        "a drawing of a {}.",
        "a picture of a {}.",
        "a {}.",
        "a simple drawing of a {}.",
        "a photo of the {}.",
        "a photo of a small {}.",
        "a photo of a large {}.",
    ),
    "colour": (
        "a photo of a {} shape.",
        "a drawing of a {} shape.",
        "a {} object.",
        "something {}.",
        "a photo of something {}.",
    ),
}
"""Prompt ensembles per label key; other keys use the shape ones."""
RECALL_AT = (1, 5, 10)
ENCODE_BATCH = 256


@dataclass
class HeldOut:
    """Encoded held-out samples: normalised image and caption embeddings, labels per key."""

    images: torch.Tensor
    texts: torch.Tensor
    labels: dict[str, list[str | None]]


def _article(text: str) -> str:
    """'a orange' -> 'an orange' (prompts are filled with any label)."""
    return re.sub(r"\ba ([aeiou])", r"an \1", text)


def load_model(model_or_path: torch.nn.Module | str | Path) -> open_clip.CLIP:
    """A CLIP from a model, a train_small checkpoint (.pt) or an exported local-dir folder."""
    if isinstance(model_or_path, torch.nn.Module):
        return model_or_path
    path = Path(str(model_or_path).removeprefix("local-dir:"))
    if path.is_dir():
        if not (path / "open_clip_config.json").is_file():
            raise FileNotFoundError(f"{path}: not an open_clip folder (no open_clip_config.json)")
        return open_clip.create_model(f"local-dir:{path}")
    state = load_checkpoint(path)
    model = build_model(state["model_cfg"])
    model.load_state_dict(state["state_dict"])
    return model


def _image_size(model: open_clip.CLIP) -> int:
    size = model.visual.image_size
    return int(size[0] if isinstance(size, (tuple, list)) else size)


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def _encode_texts(model: open_clip.CLIP, texts: Sequence[str]) -> torch.Tensor:
    tokenize = tokenizer(model.context_length)
    parts = [
        model.encode_text(tokenize(list(texts[i : i + ENCODE_BATCH])).to(_device(model)))
        for i in range(0, len(texts), ENCODE_BATCH)
    ]
    return F.normalize(torch.cat(parts).float(), dim=-1).cpu()


@torch.no_grad()
def encode_held_out(
    model: open_clip.CLIP, source: str | Sequence[str], label_keys: Sequence[str]
) -> HeldOut:
    """Read every sample of `source` once (in shard order) and embed images and captions."""
    size = _image_size(model)
    pixels: list[np.ndarray] = []
    captions: list[str] = []
    labels: dict[str, list[str | None]] = {key: [] for key in label_keys}
    for sample in shard_pipeline(source, decode=None):
        pixels.append(decode_image(image_bytes(sample), size))
        captions.append(caption_text(sample))
        meta = json.loads(sample["json"]) if "json" in sample else {}
        for key in label_keys:
            labels[key].append(meta.get("labels", {}).get(key))
    if not pixels:
        raise ValueError(f"{source}: no samples to evaluate on")
    images = []
    for i in range(0, len(pixels), ENCODE_BATCH):
        chunk = torch.from_numpy(np.stack(pixels[i : i + ENCODE_BATCH])).permute(0, 3, 1, 2)
        images.append(model.encode_image(normalise(chunk.to(_device(model)))))
    image_features = F.normalize(torch.cat(images).float(), dim=-1).cpu()
    return HeldOut(image_features, _encode_texts(model, captions), labels)


def zero_shot_accuracy(
    model: open_clip.CLIP, images: torch.Tensor, labels: list[str | None], templates: Sequence[str]
) -> tuple[float, dict[str, float]]:
    """Top-1 accuracy over the labelled images, each class embedded as the normalised mean of
    its prompts; also the top-1 of each class's own images (head and tail concepts apart)."""
    known = [i for i, label in enumerate(labels) if label is not None]
    classes = sorted({labels[i] for i in known})
    if not known:
        return float("nan"), {}
    prompts = [_article(t.format(c)) for c in classes for t in templates]
    embedded = _encode_texts(model, prompts).view(len(classes), len(templates), -1)
    class_features = F.normalize(embedded.mean(dim=1), dim=-1)
    predicted = (images[known] @ class_features.T).argmax(dim=1)
    truth = torch.tensor([classes.index(labels[i]) for i in known])
    correct = (predicted == truth).float()
    per_class = {c: float(correct[truth == n].mean()) for n, c in enumerate(classes)}
    return float(correct.mean()), per_class


def retrieval_recalls(images: torch.Tensor, texts: torch.Tensor) -> dict[str, float]:
    """Image->text and text->image recall at 1, 5 and 10: the share of queries whose own pair
    ranks within the top K of all candidates."""
    similarity = images @ texts.T
    own = similarity.diagonal()
    i2t_rank = (similarity > own[:, None]).sum(dim=1)
    t2i_rank = (similarity > own[None, :]).sum(dim=0)
    recalls = {}
    for k in RECALL_AT:
        recalls[f"i2t_r{k}"] = float((i2t_rank < k).float().mean())
        recalls[f"t2i_r{k}"] = float((t2i_rank < k).float().mean())
    return recalls


def evaluate(
    model_or_folder: torch.nn.Module | str | Path,
    eval_shards: str | Sequence[str],
    label_keys: Sequence[str] = ("shape", "colour"),
    templates: Mapping[str, Sequence[str]] | None = None,
    retrieval_pool: int = 1000,
) -> dict[str, Any]:
    """Zero-shot top-1 per label key (overall and per class), retrieval R@1/5/10 over the first
    `retrieval_pool` pairs, and linear-probe top-1 per label key (trained on even, tested on odd
    samples)."""
    model = load_model(model_or_folder)
    was_training = model.training
    model.eval()
    held = encode_held_out(model, eval_shards, label_keys)
    chosen = {**TEMPLATES, **(templates or {})}
    metrics: dict[str, Any] = {"samples": len(held.images)}
    for key in label_keys:
        accuracy, per_class = zero_shot_accuracy(
            model, held.images, held.labels[key], chosen.get(key, TEMPLATES["shape"])
        )
        metrics[f"zero_shot_{key}_top1"] = accuracy
        metrics[f"zero_shot_{key}_per_class"] = per_class
        labelled = [label for label in held.labels[key] if label is not None]
        metrics[f"{key}_class_samples"] = dict(sorted(Counter(labelled).items()))
        metrics[f"{key}_classes"] = len(per_class)
    pool = min(retrieval_pool, len(held.images))
    metrics.update(retrieval_recalls(held.images[:pool], held.texts[:pool]))
    metrics["retrieval_pool"] = pool
    for key in label_keys:
        metrics[f"linear_probe_{key}_top1"] = linear_probe_accuracy(held.images, held.labels[key])
    model.train(was_training)
    return metrics

"""The contrastive loss against the numpy-style pseudocode of the CLIP paper (figure 3)."""

import math

import numpy as np
import pytest
import torch

from train_small.config import TrainConfig
from train_small.loss import MAX_LOGIT_SCALE, clamp_logit_scale_, contrastive_loss
from train_small.model import build_model, model_config

from .conftest import TINY


def _l2_normalize(x: np.ndarray, axis: int) -> np.ndarray:
    return x / np.linalg.norm(x, axis=axis, keepdims=True)


def _cross_entropy_loss(logits: np.ndarray, labels: np.ndarray, axis: int) -> float:
    log_probs = logits - np.log(np.exp(logits).sum(axis=axis, keepdims=True))
    return float(-log_probs[labels, labels].mean())


def paper_loss(image_embeddings: np.ndarray, text_embeddings: np.ndarray, t: float) -> float:
    """Figure 3 of Radford et al. 2021, line by line (t is the learnt log temperature)."""
    I_e = _l2_normalize(image_embeddings, axis=1)
    T_e = _l2_normalize(text_embeddings, axis=1)
    logits = np.dot(I_e, T_e.T) * np.exp(t)
    n = logits.shape[0]
    labels = np.arange(n)
    loss_i = _cross_entropy_loss(logits, labels, axis=0)
    loss_t = _cross_entropy_loss(logits, labels, axis=1)
    return (loss_i + loss_t) / 2


@pytest.mark.parametrize(
    ("n", "dim", "t"), [(2, 4, 0.0), (8, 16, math.log(1 / 0.07)), (33, 7, 3.0)]
)
def test_loss_matches_the_paper_pseudocode(n, dim, t):
    rng = np.random.default_rng(n)
    images, texts = rng.normal(size=(n, dim)), rng.normal(size=(n, dim))
    ours = contrastive_loss(torch.tensor(images), torch.tensor(texts), torch.tensor(math.exp(t)))
    assert float(ours) == pytest.approx(paper_loss(images, texts, t), rel=1e-5, abs=1e-6)


def test_logits_are_never_scaled_by_more_than_100():
    rng = np.random.default_rng(1)
    images, texts = rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    ours = contrastive_loss(torch.tensor(images), torch.tensor(texts), torch.tensor(1e4))
    assert float(ours) == pytest.approx(
        paper_loss(images, texts, math.log(MAX_LOGIT_SCALE)), rel=1e-5
    )


def test_matched_pairs_give_a_lower_loss_than_shuffled_ones():
    features = torch.nn.functional.normalize(torch.randn(16, 8), dim=-1)
    scale = torch.tensor(1 / 0.07)
    matched = contrastive_loss(features, features, scale)
    shuffled = contrastive_loss(features, features.roll(1, dims=0), scale)
    assert float(matched) < float(shuffled)


def test_temperature_starts_at_1_over_0_07_learns_and_is_clamped(tmp_path):
    model = build_model(model_config(TrainConfig(shards="x", out_dir=tmp_path, **TINY)))
    assert float(model.logit_scale.detach().exp()) == pytest.approx(1 / 0.07, rel=1e-5)
    loss = contrastive_loss(torch.randn(4, 32), torch.randn(4, 32), model.logit_scale.exp())
    loss.backward()
    assert model.logit_scale.grad is not None and float(model.logit_scale.grad) != 0.0
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
    clamp_logit_scale_(model)
    assert float(model.logit_scale.detach().exp()) == pytest.approx(MAX_LOGIT_SCALE)

"""CLIP's symmetric contrastive loss with a learnable temperature (Radford et al. 2021, fig. 3).

The temperature is open_clip's `logit_scale` parameter, log(1/0.07) at start; the logits are
never scaled by more than 100, as in the paper (the parameter is clamped after each step).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MAX_LOGIT_SCALE = 100.0


def contrastive_loss(
    image_features: torch.Tensor, text_features: torch.Tensor, logit_scale: torch.Tensor
) -> torch.Tensor:
    """Mean of the image->text and text->image cross entropies over the batch's cosine
    similarities times `logit_scale` (the exp of the learnt log temperature)."""
    image = F.normalize(image_features.float(), dim=-1)
    text = F.normalize(text_features.float(), dim=-1)
    logits = logit_scale.float().clamp(max=MAX_LOGIT_SCALE) * image @ text.T
    labels = torch.arange(logits.shape[0], device=logits.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def clamp_logit_scale_(model: torch.nn.Module) -> None:
    """Keep the model's log temperature within [0, log 100] (call after each optimiser step)."""
    with torch.no_grad():
        model.logit_scale.clamp_(0, math.log(MAX_LOGIT_SCALE))

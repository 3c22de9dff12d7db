"""The tiny open_clip CLIP: its config from a TrainConfig, the model, tokenizer and pixel
normalisation, so checkpoints and exports are plain open_clip ones."""

from __future__ import annotations

from typing import Any

import open_clip
import torch

from wit_pipeline.scoring.towers import CNN_TOWER

from .config import TrainConfig

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
PREPROCESS_CFG: dict[str, Any] = {
    "mean": list(MEAN),
    "std": list(STD),
    "interpolation": "bicubic",
    "resize_mode": "shortest",
}
"""open_clip's preprocessing of exported models: CLIP's mean/std, shortest-side resize + crop."""
VOCAB_SIZE = 49408
"""open_clip's SimpleTokenizer (CLIP's BPE) vocabulary."""


def _vision_config(config: TrainConfig) -> dict[str, Any]:
    """The image tower of `config.image_tower`: a ViT, open_clip's ModifiedResNet (a list of
    blocks per stage selects it; its attention pool splits width * 32 channels into heads of
    32), or the plain CNN as a timm tower (average pool, then a linear projection)."""
    if config.image_tower == "cnn":
        return {
            "image_size": config.image_size,
            "timm_model_name": CNN_TOWER,
            "timm_pool": "avg",
            "timm_proj": "linear",
        }
    if config.image_tower == "resnet":
        return {
            "image_size": config.image_size,
            "layers": [config.resnet_blocks] * 4,
            "width": config.resnet_width,
            "head_width": 32,
        }
    return {
        "image_size": config.image_size,
        "patch_size": config.patch_size,
        "width": config.vision_width,
        "layers": config.vision_layers,
        "head_width": 32,
        "mlp_ratio": 2.0,
    }


def model_config(config: TrainConfig) -> dict[str, Any]:
    """The open_clip `model_cfg` of a run: its image tower and a transformer text tower."""
    return {
        "embed_dim": config.embed_dim,
        "vision_cfg": _vision_config(config),
        "text_cfg": {
            "context_length": config.context_length,
            "vocab_size": VOCAB_SIZE,
            "width": config.text_width,
            "heads": max(1, config.text_width // 32),
            "layers": config.text_layers,
            "mlp_ratio": 2.0,
        },
    }


def build_model(model_cfg: dict[str, Any]) -> open_clip.CLIP:
    """A randomly initialised open_clip CLIP (logit scale 1/0.07) from `model_cfg`."""
    return open_clip.CLIP(**model_cfg)


def tokenizer(context_length: int) -> open_clip.SimpleTokenizer:
    """CLIP's BPE tokenizer, truncating to `context_length` tokens."""
    return open_clip.SimpleTokenizer(context_length=context_length)


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 3, H, W) pixels as the float, mean/std normalised input of the image tower."""
    mean = torch.tensor(MEAN, device=images.device).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(STD, device=images.device).view(1, 3, 1, 1) * 255.0
    return (images.float() - mean) / std

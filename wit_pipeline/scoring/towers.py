"""A plain CNN image tower registered as a timm model, so that an open_clip config naming it
(`vision_cfg.timm_model_name`, what train_small exports for `--image-tower cnn`) loads wherever
open_clip loads a `local-dir:` folder: the filter, the evaluation, a notebook.

Four stages of two 3x3 convolutions with BatchNorm and ReLU, max-pooling between stages and a
global average pool; open_clip's TimmModel adds the linear projection. The first convolution has
stride 2, so a 64 px image costs about what a 32 px one would (the demo's 2-core budget).
"""

from __future__ import annotations

from typing import Any

from timm.models import register_model
from torch import Tensor, nn

CNN_TOWER = "wit_cnn"
"""The timm name of the tower (importing this module registers it)."""
CNN_WIDTHS = (32, 64, 128, 128)
STEM_STRIDE = 2


class PlainCNN(nn.Module):
    """The tower's trunk with the timm classifier interface open_clip's TimmModel calls
    (`num_features`, `reset_classifier`, `default_cfg`)."""

    def __init__(self, widths: tuple[int, ...], num_classes: int = 0, global_pool: str = "avg"):
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for stage, width in enumerate(widths):
            if stage:
                layers.append(nn.MaxPool2d(2))
            for conv in range(2):
                stride = STEM_STRIDE if stage == conv == 0 else 1
                layers += [
                    nn.Conv2d(channels, width, 3, stride, 1, bias=False),
                    nn.BatchNorm2d(width),
                    nn.ReLU(inplace=True),
                ]
                channels = width
        self.features = nn.Sequential(*layers)
        self.num_features = channels
        self.default_cfg: dict[str, Any] = {"pool_size": None}
        self.reset_classifier(num_classes, global_pool)

    def reset_classifier(self, num_classes: int, global_pool: str = "avg") -> None:
        """A linear classifier of `num_classes` (0: none) after the pooling (avg, or '' none)."""
        if global_pool not in ("avg", ""):
            raise ValueError(f"PlainCNN: global_pool must be 'avg' or '', got {global_pool!r}")
        self.global_pool = global_pool
        self.num_classes = num_classes
        self.head = nn.Linear(self.num_features, num_classes) if num_classes else nn.Identity()

    def forward(self, images: Tensor) -> Tensor:
        """(N, 3, H, W) normalised pixels -> (N, num_classes or num_features) features."""
        features = self.features(images)
        if self.global_pool == "avg":
            features = features.mean(dim=(2, 3))
        return self.head(features)


@register_model
def wit_cnn(pretrained: bool = False, **kwargs: Any) -> PlainCNN:
    """The tower `--image-tower cnn` trains: stages of 32, 64, 128 and 128 channels."""
    if pretrained:
        raise ValueError("wit_cnn has no pretrained weights")
    known = {k: kwargs[k] for k in ("num_classes", "global_pool") if k in kwargs}
    return PlainCNN(CNN_WIDTHS, **known)

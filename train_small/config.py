"""What a training run is given (TrainConfig) and what it reports back (TrainResult).

The defaults: the demo's recipe (64 px ViT, 2-layer text transformer); benchmarks/recipe_study.py
measures it against one change at a time, the CNN tower among them (README, "The demo").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

IMAGE_TOWERS = ("vit", "resnet", "cnn")
"""Image towers a run can use: open_clip's ViT or ModifiedResNet, or the plain CNN of
wit_pipeline.scoring.towers (through open_clip's timm tower)."""


@dataclass
class TrainConfig:
    """One training run: data, optimisation, model shape, checkpointing."""

    shards: str | Sequence[str]
    out_dir: str | Path
    steps: int = 150
    batch_size: int = 128
    lr: float = 2e-3
    warmup_steps: int = 15
    weight_decay: float = 0.1
    seed: int = 0
    workers: int = 1
    checkpoint_every: int = 50
    image_size: int = 64
    image_tower: str = "vit"
    """vit, resnet (open_clip's ModifiedResNet) or cnn (four stages of 3x3 convolutions)."""
    patch_size: int = 8
    vision_width: int = 128
    vision_layers: int = 4
    resnet_width: int = 16
    """ModifiedResNet stem width (its last stage has 32x as many channels)."""
    resnet_blocks: int = 1
    """Bottleneck blocks in each of the ModifiedResNet's four stages."""
    text_width: int = 128
    text_layers: int = 2
    embed_dim: int = 128
    context_length: int = 16
    grad_clip: float = 1.0
    bf16: bool = False
    device: str = "cpu"
    """cpu (default: bit-exact resume, the measured recipe) or cuda."""
    augment: bool = True
    shuffle_buffer: int = 1000
    stop_at: int | None = None
    """Stop (with a checkpoint) after this step, as if killed there; a rerun resumes."""
    progress: bool = True

    def __post_init__(self) -> None:
        positive = (
            "steps", "batch_size", "checkpoint_every", "image_size", "patch_size",
            "resnet_width", "resnet_blocks",
        )  # fmt: skip
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size < 2:
            raise ValueError(
                f"TrainConfig.batch_size must be >= 2 (contrastive), got {self.batch_size}"
            )
        if self.image_tower not in IMAGE_TOWERS:
            raise ValueError(
                f"TrainConfig.image_tower must be one of {', '.join(IMAGE_TOWERS)}, "
                f"got {self.image_tower!r}"
            )
        if self.image_tower == "vit" and self.image_size % self.patch_size:
            raise ValueError(
                f"TrainConfig.image_size {self.image_size} is not a multiple of patch_size "
                f"{self.patch_size}"
            )
        if self.lr <= 0 or self.workers < 0 or self.warmup_steps < 0 or self.weight_decay < 0:
            raise ValueError(
                "TrainConfig: lr must be > 0 and workers, warmup_steps, weight_decay >= 0 "
                f"(got {self.lr}, {self.workers}, {self.warmup_steps}, {self.weight_decay})"
            )

    def as_dict(self) -> dict[str, Any]:
        """JSON-able values (paths as strings, shard lists as lists)."""
        values = asdict(self)
        values["out_dir"] = str(self.out_dir)
        if not isinstance(self.shards, str):
            values["shards"] = [str(s) for s in self.shards]
        return values


@dataclass
class TrainResult:
    """What a run produced and how fast it went."""

    checkpoint: Path
    out_dir: Path
    steps: int
    seconds: float
    samples_per_second: float
    final_loss: float
    data_wait_fraction: float
    startup_seconds: float
    """Wait for the first batch (worker start, shuffle buffer fill); not in data_wait_fraction."""
    epochs: int
    """Epochs begun (the highest epoch index any reader reached, plus one)."""
    metrics: Path
    loss_curve: Path
    extra: dict[str, Any] = field(default_factory=dict)
    """What callers add after training (the CLI: "eval" metrics, "export" folder)."""

    def line(self) -> str:
        """One summary line for the command line."""
        return (
            f"trained {self.steps} steps in {self.seconds:.1f} s "
            f"({self.samples_per_second:.0f} samples/s, {self.epochs} epochs, data wait "
            f"{100 * self.data_wait_fraction:.1f}%), final loss {self.final_loss:.3f}; "
            f"checkpoint {self.checkpoint}"
        )

"""CLIP scores through open_clip: the cosine of the L2-normalised image and text embeddings.

Models are named as open_clip names them: `ViT-B-32` with `--pretrained openai` (LAION's
setting), any open_clip name and tag, a name with a local weights file as `pretrained`, a
`local-dir:PATH` folder (open_clip_config.json + weights, what train_small exports; its image
tower may be the CNN of `towers`), or a name
with `pretrained` 'random' for a randomly initialised model (speed figures, tests). The score is
not scaled by the logit scale.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wit_pipeline.core.errors import InputError

RANDOM = "random"


@dataclass(frozen=True)
class ClipSpec:
    """Which model to score with, as given on the command line."""

    model: str = "ViT-B-32"
    pretrained: str | None = "openai"

    @property
    def model_id(self) -> str:
        """The identity stored beside every score: changing it invalidates the CLIP columns."""
        if self.model.startswith("local-dir:"):
            folder = Path(self.model[len("local-dir:") :]).resolve()
            if not (folder / "open_clip_config.json").is_file():
                raise InputError(f"{folder}: not an open_clip folder (no open_clip_config.json)")
            return f"local-dir:{folder}@{_mtime(folder)}"
        pretrained = self.pretrained or RANDOM
        if os.path.isfile(pretrained):
            path = Path(pretrained).resolve()
            return f"{self.model}:{path}@{_mtime(path)}"
        return f"{self.model}:{pretrained}"


def _mtime(path: Path) -> int:
    """Newest modification time under `path`, so a re-exported checkpoint is a new model."""
    if path.is_dir():
        return max((p.stat().st_mtime_ns for p in path.iterdir()), default=0)
    return path.stat().st_mtime_ns


def resolve_device(device: str) -> str:
    """`auto` is cuda when a GPU is visible, else cpu; others (cuda, cuda:N) are checked."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is visible (use --device cpu or auto)")
    if device.startswith("cuda:"):
        index, visible = int(device.removeprefix("cuda:")), torch.cuda.device_count()
        if index >= visible:
            raise InputError(f"--devices {device}: only {visible} CUDA devices are visible")
    return device


class ClipScorer:
    """A loaded model, its image preprocessing and tokenizer, and the scoring of pairs."""

    def __init__(self, spec: ClipSpec, device: str = "auto") -> None:
        import open_clip
        import torch

        import wit_pipeline.scoring.towers  # noqa: F401 (registers the CNN tower with timm)

        self.spec, self.model_id = spec, spec.model_id
        self.device = resolve_device(device)
        pretrained = None if spec.pretrained in (None, "", RANDOM) else spec.pretrained
        if spec.model.startswith("local-dir:"):
            folder = Path(spec.model[len("local-dir:") :])
            if not (folder / "open_clip_config.json").is_file():
                raise InputError(f"{folder}: not an open_clip folder (no open_clip_config.json)")
            pretrained = None
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                spec.model, pretrained=pretrained, device=self.device
            )
        except RuntimeError as exc:
            if "Failed to download" in str(exc) or "not found in built-ins" not in str(exc):
                reason = str(exc)[:120]
                raise InputError(
                    f"cannot load CLIP weights {spec.model} / {spec.pretrained} ({reason}); "
                    "offline machines need a local checkpoint: --clip-model NAME --pretrained "
                    "FILE.pt, or --clip-model local-dir:FOLDER"
                ) from exc
            raise InputError(f"--clip-model {spec.model}: unknown open_clip model") from exc
        model.eval()
        if self.device.startswith("cuda"):
            model = model.half()
        self.model, self.preprocess = model, preprocess
        self.input_side = input_side(model)
        self.tokenizer = open_clip.get_tokenizer(spec.model)
        self.dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
        self.calls = 0

    def score(self, images, captions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scores of a batch of preprocessed images (N,C,H,W tensor) against their captions
        (strings, or their tokens already made by the tokenizer), with the normalised image and
        text embeddings."""
        return tuple(part.cpu().numpy() for part in self.score_on_device(images, captions))

    def score_on_device(self, images, captions: Any) -> tuple[Any, Any, Any]:
        """What `score` gives, as tensors left on the model's device: no wait for the device,
        so the next batch is prepared while this one runs."""
        import torch

        self.calls += 1
        tokens = captions if isinstance(captions, torch.Tensor) else self.tokenizer(captions)
        with torch.inference_mode():
            image = self.model.encode_image(images.to(self.device, self.dtype))
            text = self.model.encode_text(tokens.to(self.device))
            image = torch.nn.functional.normalize(image.float(), dim=-1)
            text = torch.nn.functional.normalize(text.float(), dim=-1)
            scores = (image * text).sum(dim=-1)
        return scores, image, text


def input_side(model: Any) -> int:
    """The larger side of a model's image input (0 when it does not say): JPEGs need not be
    decoded larger than this for its preprocessing."""
    size = getattr(getattr(model, "visual", None), "image_size", 0)
    return int(max(size)) if isinstance(size, tuple | list) else int(size or 0)

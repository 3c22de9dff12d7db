"""Query vectors from the model the filter scored with: its identity (the `clip_model` stored
beside every score) names the open_clip model and weights to load again."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from wit_pipeline.core.errors import InputError
from wit_pipeline.scoring.clip import ClipScorer, ClipSpec

log = logging.getLogger(__name__)


def spec_of(model_id: str) -> ClipSpec:
    """The ClipSpec whose `model_id` is `model_id` (the inverse of ClipSpec.model_id)."""
    if model_id.startswith("local-dir:"):
        return ClipSpec(model_id.rpartition("@")[0] or model_id, None)
    name, _, pretrained = model_id.rpartition(":")
    if not name:
        raise InputError(f"clip_model {model_id!r}: not a model identity the filter writes")
    if "@" in pretrained and "/" in pretrained:
        pretrained = pretrained.rpartition("@")[0]
    return ClipSpec(name, pretrained)


class QueryEncoder:
    """The filter's CLIP model, loaded once, turning a text or an image into a unit vector."""

    def __init__(self, model_id: str, device: str = "cpu") -> None:
        spec = spec_of(model_id)
        self.scorer = ClipScorer(spec, device)
        if self.scorer.model_id != model_id:
            log.warning(
                "the model changed since the filter ran (%s, now %s): query vectors may not "
                "match the saved ones",
                model_id,
                self.scorer.model_id,
            )

    def text(self, query: str) -> np.ndarray:
        """The unit text embedding of `query`."""
        import torch

        scorer = self.scorer
        with torch.inference_mode():
            vector = scorer.model.encode_text(scorer.tokenizer([query]).to(scorer.device))
            return torch.nn.functional.normalize(vector.float(), dim=-1)[0].cpu().numpy()

    def pixels(self, data: bytes, where: str):
        """An encoded image as the model's preprocessed tensor (`where` names it in errors)."""
        try:
            with Image.open(io.BytesIO(data)) as image:
                return self.scorer.preprocess(image.convert("RGB"))
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
            raise InputError(f"{where}: not an image Pillow can read ({exc})") from exc

    def images(self, tensors: list) -> np.ndarray:
        """Unit image embeddings (N, D) of preprocessed tensors."""
        import torch

        scorer = self.scorer
        with torch.inference_mode():
            batch = torch.stack(tensors).to(scorer.device, scorer.dtype)
            vectors = scorer.model.encode_image(batch)
            return torch.nn.functional.normalize(vectors.float(), dim=-1).cpu().numpy()

    def image(self, data: bytes, where: str) -> np.ndarray:
        """The unit image embedding of an encoded image."""
        return self.images([self.pixels(data, where)])[0]


def read_image_file(path: str) -> bytes:
    """The bytes of an example image given on the command line."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"--image {path}: cannot read ({exc.strerror})") from exc

"""What the score phase's DataLoader workers compute per raw sample, from one decode.

Each worker reads its sample's members from the raw tar by offset (one handle per process),
checks the JSON member, decodes the image once (refusing decompression bombs) and derives the
size, the pHash, the caption facts and the CLIP input from that decode. Batches are collated in
the worker, so one tensor per batch crosses to the main process.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from wit_pipeline.scoring.colour_hash import colour_hash
from wit_pipeline.scoring.language import detect_language
from wit_pipeline.scoring.phash import padded_content_box, phash64
from wit_pipeline.stages.filter.raw_tar import Member

MAX_PIXELS = 1 << 26
"""Largest image decoded (64 Mpx, 192 MiB as RGB): a decompression bomb is an error instead."""


@dataclass(frozen=True)
class Item:
    """One sample for the workers: where its members lie and what the parquet says of it."""

    index: int
    tar: str
    image: Member
    metadata: Member | None
    original: tuple[int | None, int | None]
    caption: str | None


class DeviceNormalised:
    """A model's image preprocessing split in two when it ends in ToTensor + Normalize: the PIL
    steps run in the workers, which hand over uint8 tensors (a quarter of the bytes to move), and
    the scaling and normalisation run on the model's device (the same arithmetic)."""

    def __init__(self, pil_steps: Any, mean: Any, std: Any) -> None:
        self.pil_steps, self.mean, self.std = pil_steps, mean, std

    @classmethod
    def split(cls, preprocess: Any) -> DeviceNormalised | None:
        """The split of `preprocess`, or None when it does not end that way."""
        from torchvision import transforms

        steps = list(getattr(preprocess, "transforms", []))
        if len(steps) < 2 or not isinstance(steps[-1], transforms.Normalize):
            return None
        if type(steps[-2]).__name__ not in ("ToTensor", "MaybeToTensor"):
            return None
        return cls(transforms.Compose(steps[:-2]), steps[-1].mean, steps[-1].std)

    def __call__(self, image: Image.Image) -> Any:
        """In a worker: the PIL steps, then the pixels as a (3, H, W) uint8 tensor."""
        import torch

        pixels = np.asarray(self.pil_steps(image).convert("RGB"))
        return torch.from_numpy(pixels.copy()).permute(2, 0, 1)

    def normalise(self, images: Any, device: str) -> Any:
        """On `device`: uint8 batch to float in [0, 1], then (x - mean) / std per channel."""
        import torch

        mean = torch.as_tensor(self.mean, device=device).view(-1, 1, 1)
        std = torch.as_tensor(self.std, device=device).view(-1, 1, 1)
        scaled = images.to(device, non_blocking=True).float().div_(255)
        return scaled.sub_(mean).div_(std)


class SampleFacts:
    """A torch Dataset: per sample (index, preprocessed tensor or None, row updates).

    Each worker reads its members from the tar itself (one handle per process), decodes the
    image once and derives the size, the pHash, the caption facts and the CLIP input from it;
    with `facts` False (cached scores, another model) only the CLIP input is made.
    """

    def __init__(self, items: list[Item], preprocess: Any, facts: bool) -> None:
        self.items, self.preprocess, self.facts = items, preprocess, facts
        self._tar: tuple[int, str, Any] | None = None

    def _read(self, tar_path: str, member: Member) -> bytes:
        """Member bytes through one handle per process (workers are forked with the dataset)."""
        if self._tar is None or self._tar[:2] != (os.getpid(), tar_path):
            self.close()
            self._tar = (os.getpid(), tar_path, open(tar_path, "rb"))  # noqa: SIM115
        handle = self._tar[2]
        handle.seek(member.offset)
        data = handle.read(member.size)
        if len(data) < member.size:
            raise EOFError(f"tar member cut short ({len(data)} of {member.size} bytes)")
        return data

    def close(self) -> None:
        """Close this process's tar handle."""
        if self._tar is not None:
            self._tar[2].close()
            self._tar = None

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, position: int) -> tuple[int, Any, dict[str, Any]]:
        item = self.items[position]
        facts = caption_facts(item.caption) if self.facts else {}
        try:
            if self.facts and item.metadata is not None:
                json.loads(self._read(item.tar, item.metadata))
        except (ValueError, EOFError, OSError) as exc:
            return item.index, None, {**facts, "error": f"bad_metadata: {type(exc).__name__}"}
        try:
            image = decode(self._read(item.tar, item.image))
        except Exception as exc:
            return item.index, None, {**facts, "error": f"decode_error: {_why(exc)}"}
        try:
            tensor = self.preprocess(image) if self.preprocess is not None else None
            if self.facts:
                facts.update(image_facts(image, item.original))
        except Exception as exc:
            size = {"width": image.width, "height": image.height}
            return item.index, None, {**facts, **size, "error": f"score_error: {_why(exc)}"}
        return item.index, tensor, facts


def image_facts(image: Image.Image, original: tuple[int | None, int | None]) -> dict[str, Any]:
    """Size, pHash and colour hash of a decoded RGB image; both hashes look at the picture
    without the padding of a `border` resize (`original`: the size before it, or Nones)."""
    box = padded_content_box(image.width, image.height, *original)
    # pHash works on grey: converting before the crop copies a third of the bytes
    phash = phash64(image.convert("L").crop(box) if box else image)
    colour = colour_hash(image.crop(box) if box else image)
    return {"width": image.width, "height": image.height, "phash": phash, "colour_hash": colour}


def decode(data: bytes) -> Image.Image:
    """The image in `data` as RGB; images over MAX_PIXELS are refused before decoding."""
    with Image.open(io.BytesIO(data)) as opened:
        width, height = opened.size
        if width * height > MAX_PIXELS:
            raise ValueError(f"{width}x{height} pixels, over the limit of {MAX_PIXELS:,}")
        return opened.convert("RGB")


def _why(exc: Exception) -> str:
    """An exception as one short line."""
    return f"{type(exc).__name__}: {exc}"[:200]


def collate(batch: list[tuple]) -> tuple[list[tuple[int, dict]], list[int], Any]:
    """In the worker: each sample's row updates, and the CLIP inputs stacked into one tensor
    (one shared-memory transfer per batch instead of one per image)."""
    import torch

    ready = [(index, tensor) for index, tensor, _ in batch if tensor is not None]
    stacked = torch.stack([tensor for _, tensor in ready]) if ready else None
    return [(index, facts) for index, _, facts in batch], [index for index, _ in ready], stacked


def caption_facts(caption: str | None) -> dict[str, Any]:
    """Length in characters and words, and language, of a caption (None when there is none)."""
    if caption is None:
        return {"caption_chars": None, "caption_words": None, "lang": None}
    words = caption.split()
    return {
        "caption_chars": len(caption),
        "caption_words": len(words),
        "lang": detect_language(caption) if words else None,
    }

"""What the score phase's DataLoader workers compute per raw sample, from small decodes.

Each worker reads its sample's members from the raw tar by offset (one handle per process),
checks the JSON member, reads the image's header (size; decompression bombs refused) and
decodes a JPEG only as large as needed (libjpeg's DCT scaling): the hashes from the smallest
scale that keeps 128 px a side, the CLIP input from one that keeps the model's input size (one
decode when both are the same scale). Batches are collated in the worker, so one tensor per
batch crosses to the main process.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from wit_pipeline.core.tar import Member
from wit_pipeline.scoring.language import detect_language
from wit_pipeline.scoring.phash import HASH_INPUT, padded_content_box
from wit_pipeline.scoring.views import Picture, View, picture_views, published_hashes

MAX_PIXELS = 1 << 26
"""Largest image decoded (64 Mpx, 192 MiB as RGB): a decompression bomb is an error instead."""

JPEG_SCALES = (8, 4, 2, 1)
"""The reductions libjpeg decodes at directly (`Image.draft`), largest first."""

HASH_DECODE_SIDE = 4 * HASH_INPUT
"""Smallest side of the picture the hashes are made from: four times pHash's input, so that
its LANCZOS shrink still smooths (an exact 1/8 decode of 32 px lost recall at distances 0 to 8)
even for the picture inside padding that takes half the image (a letterboxed copy)."""


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
    image at the scales needed and derives the size, the hashes, the caption facts and the CLIP
    input (`clip_side`: the model's input side); with `facts` False (cached scores, another
    model) only the CLIP input is made.
    """

    def __init__(self, items: list[Item], preprocess: Any, facts: bool, clip_side: int = 0) -> None:
        self.items, self.preprocess, self.facts = items, preprocess, facts
        self.clip_side = clip_side
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
        scale, image = None, None
        try:
            decoded = decode(self._read(item.tar, item.image))
            if self.preprocess is not None:
                scale = decoded.scale_for(self.clip_side)
                image = decoded.pixels(scale)
            elif self.facts:
                scale = hash_scale(decoded, item.original)
                image = decoded.pixels(scale)
        except Exception as exc:
            return item.index, None, {**facts, "error": f"decode_error: {_why(exc)}"}
        try:
            tensor = self.preprocess(image) if self.preprocess is not None else None
            if self.facts:
                facts.update(image_facts(decoded, item.original, (scale, image)))
        except Exception as exc:
            size = {"width": decoded.width, "height": decoded.height}
            return item.index, None, {**facts, **size, "error": f"score_error: {_why(exc)}"}
        return item.index, tensor, facts


def image_facts(
    decoded: Decoded,
    original: tuple[int | None, int | None],
    ready: tuple[int | None, Image.Image | None] = (None, None),
) -> dict[str, Any]:
    """Size (from the header), pHash, colour hash and dedupe views of an image (see
    `image_hashes`)."""
    phash, colour, views = image_hashes(decoded, original, ready)
    return {
        "width": decoded.width,
        "height": decoded.height,
        "phash": phash,
        "colour_hash": colour,
        **view_columns(views),
    }


def view_columns(views: list[View]) -> dict[str, list]:
    """Views as the scores hold them: one list per field (view_phash, view_colour, ...)."""
    return {
        "view_phash": [view.phash for view in views],
        "view_colour": [view.colour for view in views],
        "view_soft_colour": [view.soft_colour for view in views],
        "view_kind": [view.kind for view in views],
        "view_log_aspect": [view.log_aspect for view in views],
        "view_texture": [view.texture for view in views],
    }


def image_hashes(
    decoded: Decoded,
    original: tuple[int | None, int | None] = (None, None),
    ready: tuple[int | None, Image.Image | None] = (None, None),
) -> tuple[int, bytes, list[View]]:
    """pHash and colour hash of an image as published, and its dedupe views, always from the
    decode at `hash_scale`, whatever else it is decoded for (`ready`: a decode already made
    and its scale, reused when that is the scale): the one hashing of the score phase and of
    decontamination. All look at the picture without the padding of a `border` resize
    (`original`: the size before it, or Nones)."""
    scale = hash_scale(decoded, original)
    image = ready[1] if ready[0] == scale and ready[1] is not None else decoded.pixels(scale)
    content = padded_content_box(decoded.width, decoded.height, *original)
    picture = Picture(image)
    if content is None:
        whole = (0, 0, image.width, image.height)
        return *published_hashes(picture, whole), picture_views(picture)
    exact = (content[0] / scale, content[1] / scale, content[2] / scale, content[3] / scale)
    inner = _scaled(content, scale)
    return *published_hashes(picture, inner, exact), picture_views(picture, inner)


def hash_scale(decoded: Decoded, original: tuple[int | None, int | None]) -> int:
    """The largest JPEG scale that keeps the picture (without padding) at least
    HASH_DECODE_SIDE pixels a side: a square 256 px JPEG is hashed from a 1/2 decode."""
    if not decoded.jpeg:
        return 1
    content = padded_content_box(decoded.width, decoded.height, *original)
    full = content or (0, 0, decoded.width, decoded.height)
    return next(s for s in JPEG_SCALES if s == 1 or _side(_scaled(full, s)) >= HASH_DECODE_SIDE)


def _scaled(box: tuple[int, int, int, int], scale: int) -> tuple[int, int, int, int]:
    """`box` in the pixels of a decode at 1/`scale`, rounded inwards (no padding pixel)."""
    left, top, right, bottom = box
    return -(-left // scale), -(-top // scale), right // scale, bottom // scale


def _side(box: tuple[int, int, int, int]) -> int:
    """The shorter side of a box."""
    return min(box[2] - box[0], box[3] - box[1])


class Decoded:
    """An image whose header has been read: its full size, and its pixels on demand at one of
    libjpeg's DCT scales (1/1, 1/2, 1/4, 1/8; other formats always decode at full size). The
    first decode reuses the opened header; a second one (another scale) opens the data again."""

    def __init__(self, data: bytes, opened: Image.Image) -> None:
        self.data, self.width, self.height = data, opened.width, opened.height
        self.jpeg = opened.format == "JPEG"
        self._opened: Image.Image | None = opened

    def scale_for(self, side: int) -> int:
        """The largest JPEG scale that keeps both sides at least `side` pixels (0: full)."""
        if not self.jpeg or side <= 0:
            return 1
        return next(s for s in JPEG_SCALES if s == 1 or min(self.width, self.height) // s >= side)

    def pixels(self, scale: int = 1) -> Image.Image:
        """The image as RGB, decoded at 1/`scale` of its size where it is a JPEG."""
        opened, self._opened = self._opened or Image.open(io.BytesIO(self.data)), None
        with opened:
            if scale > 1 and self.jpeg:
                opened.draft("RGB", (self.width // scale, self.height // scale))
            return opened.convert("RGB")


def decode(data: bytes) -> Decoded:
    """The image in `data` with its header read (pixels come later, at the scale needed);
    images over MAX_PIXELS are refused before decoding."""
    opened = Image.open(io.BytesIO(data))
    width, height = opened.size
    if width * height > MAX_PIXELS:
        opened.close()
        raise ValueError(f"{width}x{height} pixels, over the limit of {MAX_PIXELS:,}")
    return Decoded(data, opened)


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

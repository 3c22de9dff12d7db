"""Training batches streamed from WebDataset shards through `wit_pipeline.reader`.

Each DataLoader worker is one reader: it runs epoch after epoch over its share of the shards
(shard order and sample shuffle seeded per epoch and reader), decodes, resizes, augments and
tokenizes, and yields whole batches (one IPC message per batch, pixels as uint8). The
DataLoader takes batches from the readers in strict rotation, so step `s` always gets reader
`s % readers`'s next batch. The data position is therefore the step plus the raw samples each
reader has consumed; a resumed run lets reader `p` play reader `(p + step) % readers` and skip
what it had consumed (undecoded), which replays the very same batches.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from wit_pipeline.reader import shard_pipeline, shard_urls

from .model import tokenizer

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp")
CROP_SCALE = (0.8, 1.0)
"""Training crops keep 80-100% of the image side, so objects stay mostly in view."""
QUARTER_TURNS = (
    None,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_180,
    Image.Transpose.ROTATE_270,
)

VERTICAL_FLIP = 6
"""The `_dihedral` index of a vertical flip (mirror left-right, then turn by 180 degrees)."""
SIDE_WORDS = re.compile(r"\b(left|right)\b", re.IGNORECASE)


@dataclass(frozen=True)
class StreamSpec:
    """What the readers read and how they shape batches."""

    source: str | Sequence[str]
    seed: int
    batch_size: int
    image_size: int
    context_length: int
    shuffle_buffer: int = 0
    augment: bool = False


@dataclass
class DataPosition:
    """Where the data stream stands: batches taken and raw samples consumed per reader."""

    readers: int
    batches: int = 0
    raw_samples: list[int] = field(default_factory=list)
    epoch: int = 0

    def __post_init__(self) -> None:
        if not self.raw_samples:
            self.raw_samples = [0] * self.readers

    def advance(self, batch: dict[str, Any]) -> None:
        """Account for one batch taken by the training loop."""
        self.batches += 1
        self.raw_samples[batch["reader"]] += batch["raw_samples"]
        self.epoch = max(self.epoch, batch["epoch"])

    def state_dict(self) -> dict[str, Any]:
        """The position as plain values for a checkpoint."""
        return {
            "readers": self.readers,
            "batches": self.batches,
            "raw_samples": list(self.raw_samples),
            "epoch": self.epoch,
        }


def decode_image(
    data: bytes, size: int, rng: np.random.Generator | None = None, keep_sides: bool = False
) -> np.ndarray:
    """Image bytes as a (size, size, 3) uint8 array: shortest side resized to `size` and centre
    cropped (open_clip's eval transform); with `rng`, a random 80-100% square crop, then one of
    the 8 flips and quarter turns (the test web's shapes come in any orientation), or with
    `keep_sides` only none or a vertical flip (left and right stay where the caption says)."""
    with Image.open(io.BytesIO(data)) as opened:
        opened.draft("RGB", (size, size))
        image = opened.convert("RGB")
    side = min(image.size)
    if rng is None:
        crop, left, top = side, (image.width - side) // 2, (image.height - side) // 2
    else:
        crop = max(1, round(side * rng.uniform(*CROP_SCALE)))
        left = int(rng.integers(image.width - crop + 1))
        top = int(rng.integers(image.height - crop + 1))
    image = image.resize(
        (size, size), Image.Resampling.BICUBIC, (left, top, left + crop, top + crop)
    )
    if rng is not None:
        which = int(rng.integers(8))
        image = _dihedral(image, (0, VERTICAL_FLIP)[which % 2] if keep_sides else which)
    return np.asarray(image)


def _dihedral(image: Image.Image, which: int) -> Image.Image:
    """One of the 8 flips/quarter turns of a square image (0 leaves it as it is)."""
    if which & 4:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    turn = QUARTER_TURNS[which & 3]
    return image.transpose(turn) if turn is not None else image


def names_sides(caption: str) -> bool:
    """Whether a caption says where things are left to right (a flip or turn would falsify it)."""
    return SIDE_WORDS.search(caption) is not None


def image_bytes(sample: dict[str, Any]) -> bytes:
    """The image member of a raw webdataset sample (jpg, jpeg, png or webp)."""
    for extension in IMAGE_EXTENSIONS:
        if extension in sample:
            return sample[extension]
    raise KeyError(f"{sample.get('__key__')}: no image member ({', '.join(IMAGE_EXTENSIONS)})")


def caption_text(sample: dict[str, Any]) -> str:
    """The sample's caption (`KEY.txt`)."""
    if "txt" not in sample:
        raise KeyError(f"{sample.get('__key__')}: no txt member")
    return sample["txt"].decode("utf-8").strip()


def _augment_rng(seed: int, epoch: int, key: str) -> np.random.Generator:
    """A generator for one sample in one epoch, independent of where it lands in a batch."""
    return np.random.default_rng([seed, epoch, zlib.crc32(key.encode())])


def _reader_slot(rotation: int) -> tuple[int, int]:
    """(this reader's slot, readers); in a worker, makes the reader pipeline see the rotated
    slot through webdataset's WORKER/NUM_WORKERS variables."""
    info = get_worker_info()
    if info is None:
        return 0, 1
    slot = (info.id + rotation) % info.num_workers
    os.environ["WORKER"], os.environ["NUM_WORKERS"] = str(slot), str(info.num_workers)
    return slot, info.num_workers


class TrainBatches(IterableDataset):
    """Endless training batches of one reader (see the module docstring)."""

    def __init__(self, spec: StreamSpec, position: DataPosition) -> None:
        super().__init__()
        self.spec = spec
        self.rotation = position.batches % position.readers
        self.skip = list(position.raw_samples)

    def _epochs(self, slot: int) -> Iterator[tuple[int, dict[str, Any]]]:
        spec = self.spec
        pipeline = shard_pipeline(
            spec.source, epoch_seed=spec.seed, shuffle_buffer=spec.shuffle_buffer, decode=None
        )
        for epoch in itertools.count():
            pipeline.set_epoch(epoch)
            empty = True
            for sample in pipeline:
                empty = False
                yield epoch, sample
            if empty:
                raise ValueError(f"{spec.source}: reader {slot} found no samples in its shards")

    def __iter__(self) -> Iterator[dict[str, Any]]:
        spec = self.spec
        slot, _ = _reader_slot(self.rotation)
        tokenize = tokenizer(spec.context_length)
        samples = itertools.islice(self._epochs(slot), self.skip[slot], None)
        pixels: list[np.ndarray] = []
        captions: list[str] = []
        raw = 0
        for epoch, sample in samples:
            raw += 1
            rng = _augment_rng(spec.seed, epoch, sample["__key__"]) if spec.augment else None
            try:
                text = caption_text(sample)
                image = decode_image(image_bytes(sample), spec.image_size, rng, names_sides(text))
            except (OSError, KeyError, ValueError, UnicodeDecodeError) as exc:
                log.warning("skipping sample %s: %s", sample.get("__key__"), exc)
                continue
            pixels.append(image)
            captions.append(text)
            if len(pixels) == spec.batch_size:
                yield {
                    "images": torch.from_numpy(np.stack(pixels)).permute(0, 3, 1, 2).contiguous(),
                    "tokens": tokenize(captions),
                    "reader": slot,
                    "raw_samples": raw,
                    "epoch": epoch,
                }
                pixels, captions, raw = [], [], 0


def readers_for(source: str | Sequence[str], workers: int) -> int:
    """How many readers a run uses: `workers` (at least 1), but no more than there are shards."""
    return max(1, min(workers, len(shard_urls(source))))


def train_loader(spec: StreamSpec, workers: int, position: DataPosition) -> DataLoader:
    """A DataLoader of endless batches continuing from `position` (workers = its readers)."""
    return DataLoader(
        TrainBatches(spec, position),
        batch_size=None,
        num_workers=workers,
        prefetch_factor=4 if workers else None,
        generator=torch.Generator().manual_seed(spec.seed),
    )

"""The CLIP input made on the model's device (`--decode-on device`): JPEGs decoded there in
batches (nvJPEG through `torchvision.io.decode_jpeg` on a GPU, libjpeg on the CPU twin), then
resized, centre-cropped and normalised with the model's own preprocessing steps as tensor
operations, so the DataLoader workers only compute the facts and no PIL resize runs per image.
PNG, WebP and GIF bodies, and any JPEG the batch decoder refuses, go through the model's CPU
preprocessing instead: one bad file never stops the shard.
"""

from __future__ import annotations

import argparse
import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

JPEG_MAGIC = b"\xff\xd8\xff"
DECODE_ON = ("auto", "cpu", "device")


def parse_devices(text: str) -> list[str]:
    """`--devices`: `auto` (empty: the `--device` setting) or a comma list of `cpu`, `cuda`,
    `cuda:N`; ArgumentTypeError for anything else."""
    if text.strip() == "auto":
        return []
    devices = [part.strip() for part in text.split(",") if part.strip()]
    for device in devices:
        index = device.removeprefix("cuda:")
        if device not in ("cpu", "cuda") and not (device.startswith("cuda:") and index.isdigit()):
            raise argparse.ArgumentTypeError(f"{device!r} is not cpu, cuda or cuda:N")
    if not devices:
        raise argparse.ArgumentTypeError("an empty list (give cuda:0,cuda:1 or auto)")
    return devices


def device_list(text: str) -> str:
    """The argument type of `--devices`: the text, once parse_devices accepts it."""
    parse_devices(text)
    return text


def decode_on_device(decode_on: str, device: str) -> bool:
    """Whether the CLIP input is made on the model's device: `auto` does it on a GPU only."""
    if decode_on == "auto":
        return device.startswith("cuda")
    return decode_on == "device"


@dataclass(frozen=True)
class TensorSteps:
    """A model's preprocessing as tensor operations: shorter side to `side` (its interpolation,
    antialiased), centre crop to `crop`, then (x / 255 - mean) / std."""

    side: int
    max_size: int | None
    interpolation: Any
    crop: tuple[int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def of(cls, preprocess: Any) -> TensorSteps | None:
        """The steps of an open_clip-style preprocessing (Resize to an int, CenterCrop, RGB,
        ToTensor, Normalize), or None when it is built otherwise."""
        from torchvision import transforms

        steps = list(getattr(preprocess, "transforms", []))
        if len(steps) != 5:
            return None
        resize, crop, _, to_tensor, normalize = steps
        if not isinstance(resize, transforms.Resize) or not isinstance(crop, transforms.CenterCrop):
            return None
        size = resize.size if isinstance(resize.size, int) else None
        if isinstance(resize.size, list | tuple) and len(resize.size) == 1:
            size = resize.size[0]
        if size is None or not isinstance(normalize, transforms.Normalize):
            return None
        if type(to_tensor).__name__ not in ("ToTensor", "MaybeToTensor"):
            return None
        return cls(
            side=int(size),
            max_size=resize.max_size,
            interpolation=resize.interpolation,
            crop=tuple(crop.size),
            mean=tuple(float(m) for m in normalize.mean),
            std=tuple(float(s) for s in normalize.std),
        )

    def pixels(self, image: Any) -> Any:
        """uint8 (3, H, W), or (N, 3, H, W) of one size, resized and cropped as the PIL steps
        would."""
        from torchvision.transforms import functional

        resized = functional.resize(
            image, [self.side], self.interpolation, max_size=self.max_size, antialias=True
        )
        return functional.center_crop(resized, list(self.crop))

    def normalise(self, batch: Any) -> Any:
        """uint8 (N, 3, H, W) to the model's normalised float input, on the batch's device."""
        import torch

        mean = torch.tensor(self.mean, device=batch.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=batch.device).view(1, -1, 1, 1)
        return batch.float().div_(255).sub_(mean).div_(std)


class DeviceInputs:
    """Batches of CLIP inputs on `device` from encoded image bodies."""

    def __init__(self, steps: TensorSteps, preprocess: Any, device: str) -> None:
        self.steps, self.preprocess, self.device = steps, preprocess, device
        self.fallbacks = 0
        """Bodies that went through the CPU preprocessing (not JPEG, or refused on device)."""

    def _decoded(self, bodies: list[bytes]) -> list[Any | None]:
        """Each JPEG decoded to (3, H, W) uint8 on the device, None for the others; the batch
        call first, then one by one to find a damaged file when the batch call refuses."""
        import torch
        from torchvision.io import ImageReadMode, decode_jpeg

        jpegs = [i for i, body in enumerate(bodies) if body.startswith(JPEG_MAGIC)]
        out: list[Any | None] = [None] * len(bodies)
        if not jpegs:
            return out
        data = [torch.frombuffer(bytearray(bodies[i]), dtype=torch.uint8) for i in jpegs]
        try:
            images = decode_jpeg(data, mode=ImageReadMode.RGB, device=self.device)
        except (RuntimeError, ValueError):
            images = []
            for tensor in data:
                try:
                    images.append(decode_jpeg(tensor, mode=ImageReadMode.RGB, device=self.device))
                except (RuntimeError, ValueError):
                    images.append(None)
        for position, image in zip(jpegs, images, strict=True):
            out[position] = image
        return out

    def _on_cpu(self, body: bytes) -> Any:
        """The model's own CPU preprocessing of one body, as a float tensor on the device."""
        with Image.open(io.BytesIO(body)) as image:
            return self.preprocess(image).to(self.device)

    def _crops(self, decoded: list[Any | None]) -> dict[int, Any]:
        """The resized, cropped uint8 picture of each decoded position: pictures of one size
        (most of a shard: the download wrote them at one size) resized together, in one call."""
        import torch

        by_size: dict[tuple[int, ...], list[int]] = {}
        for position, image in enumerate(decoded):
            if image is not None:
                by_size.setdefault(tuple(image.shape), []).append(position)
        crops: dict[int, Any] = {}
        for positions in by_size.values():
            stacked = torch.stack([decoded[position] for position in positions])
            crops.update(zip(positions, self.steps.pixels(stacked), strict=True))
        return crops

    def batch(self, bodies: list[bytes]) -> tuple[Any | None, list[int], dict[int, str]]:
        """The normalised input batch, the positions of `bodies` in it (in order), and why
        each of the others could not be made."""
        import torch

        decoded = self._decoded(bodies)
        crops = self._crops(decoded)
        floats: dict[int, Any] = {}
        failed: dict[int, str] = {}
        for position, body in enumerate(bodies):
            if decoded[position] is not None:
                continue
            try:
                floats[position] = self._on_cpu(body)
            except Exception as exc:
                failed[position] = f"decode_error: {type(exc).__name__}: {exc}"[:200]
        self.fallbacks += len(floats)
        kept = sorted([*crops, *floats])
        if not kept:
            return None, kept, failed
        if crops:
            normalised = self.steps.normalise(torch.stack(list(crops.values())))
            floats.update(zip(crops, normalised, strict=True))
        return torch.stack([floats[position] for position in kept]), kept, failed

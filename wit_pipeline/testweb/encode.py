"""Image bytes: scenes encoded as JPEG/PNG/WebP/GIF, and near duplicates derived from them."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from .specs import Encoding, Variant


def _convert(image: Image.Image, mode: str) -> Image.Image:
    if image.mode == mode:
        return image
    if image.mode == "RGBA":
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    return image.convert(mode)


def encode(image: Image.Image, encoding: Encoding) -> bytes:
    """`image` converted to the encoding's mode and saved in its format."""
    buffer = io.BytesIO()
    converted = _convert(image, encoding.mode)
    if encoding.fmt in ("jpeg", "webp"):
        converted.save(buffer, encoding.fmt.upper(), quality=encoding.quality)
    elif encoding.fmt == "gif":
        converted.save(buffer, "GIF", transparency=0)
    else:
        converted.save(buffer, "PNG")
    return buffer.getvalue()


def spacer() -> Image.Image:
    """A 1x1 transparent palette image, the classic spacer GIF."""
    return Image.new("P", (1, 1), 0)


def near_duplicate(source: bytes, variant: Variant, encoding: Encoding) -> Image.Image:
    """The decoded source image, resized, cropped or brightened as the variant says."""
    with Image.open(io.BytesIO(source)) as opened:
        image = opened.convert("RGBA" if opened.mode == "RGBA" else "RGB")
    if variant.kind == "resize":
        return image.resize((encoding.width, encoding.height), Image.Resampling.LANCZOS)
    if variant.kind == "crop" and variant.box is not None:
        return image.crop(variant.box)
    if variant.kind == "brightness":
        pixels = np.asarray(image, dtype=np.float32).copy()
        pixels[..., :3] *= variant.factor
        return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), image.mode)
    return image

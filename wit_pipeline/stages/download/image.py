"""Look at a fetched body before any full decode: is it an image, how many pixels does it
declare, and what will decoding it hold in memory? A PNG that declares 40000x40000 is refused
here, from its header alone, and so is a 10 KB palette PNG whose 9000x9000 pixels with
transparency would take gigabytes to decode and composite."""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

_OBJECT_REPR = re.compile(r" ?<[^<>]* at 0x[0-9a-fA-F]+>")
"""A Python object's repr with its address (PIL names the BytesIO it read): cut from messages,
so that two runs over the same input write the same error_message."""
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_ONE_BAND_MODES = frozenset({"1", "L", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_PNG_BIT_DEPTH = 24
"""Offset of the bit depth in a PNG (signature 8, IHDR length and type 8, width and height 8)."""


class ImageRejected(Exception):
    """The body is not an acceptable image: a stable code and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ImageHeader:
    """What an image's header says about the pixels it will decode to."""

    width: int
    height: int
    format: str
    mode: str
    channels: int
    """Channels OpenCV decodes it to (1 grey, 3 colour, 4 with alpha or transparency)."""
    sample_bytes: int
    """Bytes per channel: 2 for 16-bit PNG and TIFF, else 1."""
    alpha: bool
    coefficient_bytes: float = 0.0
    """Bytes per pixel of the DCT coefficients a progressive JPEG decoder holds whole (2 per
    coefficient, by the components' sampling); 0 for other images."""

    @property
    def pixels(self) -> int:
        """Width times height."""
        return self.width * self.height

    def describe(self) -> str:
        """`9000x9000 P with transparency`, for messages."""
        bits = f" {8 * self.sample_bytes}-bit" if self.sample_bytes > 1 else ""
        extra = " with transparency" if self.alpha and self.mode not in _ALPHA_MODES else ""
        return f"{self.width}x{self.height}{bits} {self.mode}{extra}"


def _sample_bytes(image: Image.Image, body: bytes) -> int:
    if image.mode in _SIXTEEN_BIT_MODES:
        return 2
    if image.format == "PNG" and len(body) > _PNG_BIT_DEPTH:
        return 2 if body[_PNG_BIT_DEPTH] == 16 else 1
    if image.format == "TIFF":
        bits = image.tag_v2.get(258, (8,))  # type: ignore[attr-defined]
        bits = bits if isinstance(bits, tuple) else (bits,)
        return 2 if max(bits, default=8) > 8 else 1
    return 1


def _coefficient_bytes(image: Image.Image) -> float:
    if image.format != "JPEG" or not image.info.get("progressive"):
        return 0.0
    layers = getattr(image, "layer", None) or [("", 1, 1, 0)] * 3
    h_max, v_max = max(h for _, h, _, _ in layers), max(v for _, _, v, _ in layers)
    return 2.0 * sum(h * v for _, h, v, _ in layers) / (h_max * v_max)


def header_of(image: Image.Image, body: bytes) -> ImageHeader:
    """The ImageHeader of an opened (not decoded) image."""
    alpha = image.mode in _ALPHA_MODES or "transparency" in image.info
    channels = 4 if alpha else 1 if image.mode in _ONE_BAND_MODES else 3
    return ImageHeader(
        width=image.width,
        height=image.height,
        format=(image.format or "").lower(),
        mode=image.mode,
        channels=channels,
        sample_bytes=_sample_bytes(image, body),
        alpha=alpha,
        coefficient_bytes=_coefficient_bytes(image),
    )


def inspect_image(body: bytes, content_type: str, max_pixels: int) -> ImageHeader:
    """The ImageHeader from the image header; ImageRejected otherwise."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(body)) as image:
                header = header_of(image, body)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        size = _declared_size(body)
        declared = f"{size[0]}x{size[1]}" if size else "an image"
        raise ImageRejected(
            "too_many_pixels", f"declares {declared}, over the limit of {max_pixels:,} pixels"
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        head = body[:64].lstrip().lower()
        if content_type.lower().startswith("text/") or head.startswith((b"<", b"{")):
            raise ImageRejected(
                "not_an_image", f"body is {content_type or 'not an image'}"
            ) from exc
        why = _OBJECT_REPR.sub("", str(exc))
        raise ImageRejected("decode_error", f"cannot read image header: {why}") from exc
    if header.pixels > max_pixels:
        raise ImageRejected(
            "too_many_pixels",
            f"declares {header.width}x{header.height}, over the limit of {max_pixels:,} pixels",
        )
    return header


def _declared_size(body: bytes) -> tuple[int, int] | None:
    """Width and height from the header by the format plugin itself, skipping PIL's bomb check
    (which raises before telling the size)."""
    Image.init()
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        if accept is not None and not accept(body[:16]):
            continue
        try:
            with factory(io.BytesIO(body), "") as image:
                return image.size
        except Exception:
            continue
    return None

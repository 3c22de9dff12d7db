"""Look at a fetched body before any full decode: is it an image, and how many pixels would it
take? A PNG that declares 40000x40000 is refused here, from its header alone."""

from __future__ import annotations

import io
import re
import warnings

from PIL import Image, UnidentifiedImageError

_OBJECT_REPR = re.compile(r" ?<[^<>]* at 0x[0-9a-fA-F]+>")
"""A Python object's repr with its address (PIL names the BytesIO it read): cut from messages,
so that two runs over the same input write the same error_message."""


class ImageRejected(Exception):
    """The body is not an acceptable image: a stable code and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def inspect_image(body: bytes, content_type: str, max_pixels: int) -> tuple[int, int, str]:
    """(width, height, format) from the image header; ImageRejected otherwise."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(body)) as image:
                width, height, fmt = image.width, image.height, (image.format or "").lower()
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
    if width * height > max_pixels:
        raise ImageRejected(
            "too_many_pixels", f"declares {width}x{height}, over the limit of {max_pixels:,} pixels"
        )
    return width, height, fmt


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


def gif_as_png(body: bytes) -> bytes:
    """The first frame of a GIF as PNG: img2dataset's OpenCV decoder cannot read GIF at all."""
    with Image.open(io.BytesIO(body)) as image:
        frame = image.convert("RGBA")
    out = io.BytesIO()
    frame.save(out, format="PNG")
    return out.getvalue()

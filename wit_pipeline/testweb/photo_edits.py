"""What the web does to a picture when it publishes it again: the edits the real-photo dedupe
benchmark and tests apply to real photographs, each returning the bytes a site would serve.

Every edit takes the decoded original (RGB) and returns encoded bytes; most re-encode as JPEG
at quality 90 (what a CMS does on upload), the format edits choose their own encoding.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageEnhance, ImageOps

Edit = Callable[[Image.Image], bytes]


def _jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _webp(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=80)
    return buffer.getvalue()


def _scaled(image: Image.Image, factor: float) -> Image.Image:
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _thumbnail(image: Image.Image, side: int) -> Image.Image:
    small = image.copy()
    small.thumbnail((side, side), Image.Resampling.LANCZOS)
    return small


def crop_each_side(image: Image.Image, share: float) -> Image.Image:
    """`share` of the width cut from the left and the right, of the height from top and
    bottom."""
    dx, dy = round(image.width * share), round(image.height * share)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


def pad_to(image: Image.Image, ratio: float, colour: tuple[int, int, int]) -> Image.Image:
    """The picture centred on a `colour` canvas of aspect `ratio` (width / height): letterbox
    bands top and bottom or pillarbox bands left and right."""
    width, height = image.size
    if width / height < ratio:
        canvas = (round(height * ratio), height)
    else:
        canvas = (width, round(width / ratio))
    padded = Image.new("RGB", canvas, colour)
    padded.paste(image, ((canvas[0] - width) // 2, (canvas[1] - height) // 2))
    return padded


def frame(image: Image.Image, share: float, colour: tuple[int, int, int]) -> Image.Image:
    """A uniform frame `share` of the longer side thick around the picture."""
    return ImageOps.expand(image, border=round(max(image.size) * share), fill=colour)


def watermark(image: Image.Image) -> Image.Image:
    """A small white text label with a dark outline in the bottom right corner."""
    marked = image.copy()
    draw = ImageDraw.Draw(marked)
    text = "(c) example.com"
    size = max(8, image.width // 30)
    left, top, right, bottom = draw.textbbox((0, 0), text, font_size=size)
    x = image.width - (right - left) - image.width // 40
    y = image.height - (bottom - top) - image.height // 40
    draw.text((x, y), text, fill="white", font_size=size, stroke_width=1, stroke_fill="black")
    return marked


EDITS: dict[str, Edit] = {
    "resize_50": lambda im: _jpeg(_scaled(im, 0.5)),
    "resize_150": lambda im: _jpeg(_scaled(im, 1.5)),
    "jpeg_q40": lambda im: _jpeg(im, 40),
    "jpeg_q75": lambda im: _jpeg(im, 75),
    "webp": _webp,
    "thumbnail_128": lambda im: _jpeg(_thumbnail(im, 128)),
    "brightness_+15": lambda im: _jpeg(ImageEnhance.Brightness(im).enhance(1.15)),
    "contrast_+20": lambda im: _jpeg(ImageEnhance.Contrast(im).enhance(1.2)),
    "watermark": lambda im: _jpeg(watermark(im)),
    "crop_3": lambda im: _jpeg(crop_each_side(im, 0.03)),
    "crop_8": lambda im: _jpeg(crop_each_side(im, 0.08)),
    "pad_square_white": lambda im: _jpeg(pad_to(im, 1.0, (255, 255, 255))),
    "pad_square_black": lambda im: _jpeg(pad_to(im, 1.0, (0, 0, 0))),
    "letterbox_16_9": lambda im: _jpeg(pad_to(im, 16 / 9, (0, 0, 0))),
    "frame_grey": lambda im: _jpeg(frame(im, 0.04, (128, 128, 128))),
    "mirror": lambda im: _jpeg(ImageOps.mirror(im)),
    "mirror_thumbnail": lambda im: _jpeg(_thumbnail(ImageOps.mirror(im), 160), 75),
    "crop_3_mirror": lambda im: _jpeg(ImageOps.mirror(crop_each_side(im, 0.03))),
    "greyscale": lambda im: _jpeg(ImageOps.grayscale(im)),
}
"""Every edit by name: those the issue names first, then combinations and greyscale."""

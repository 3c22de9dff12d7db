"""The decoding img2dataset's Resizer must not do itself, and what decoding costs in memory.

The Resizer decodes with OpenCV and composites alpha on white in float64 over the whole
picture at once (about 72 bytes per pixel: a 10 KB palette PNG declaring 9000x9000 took a
process to 6.9 GB). OpenCV cannot read GIF and decodes some 16-bit planar TIFFs differently on
each call (uninitialised memory). So three kinds of image take another route to the Resizer:

- `opencv`: everything else, handed over as fetched (the Resizer's own pixels, unchanged);
- `composite`: an image with alpha or transparency that OpenCV decodes: decoded by OpenCV as
  the Resizer would, composited on white with the Resizer's own formula band by band (the
  same bytes, a fraction of the memory), handed over as an uncompressed PPM;
- `pillow`: GIF (first frame) and TIFF (through libtiff): decoded by Pillow, composited the
  same way, handed over as PPM (PGM for grey).

`decode_cost` estimates the peak bytes of each route from the header, so an image whose
decode would not fit the budget (`--max-decode-bytes`) is refused before it is decoded.
"""

from __future__ import annotations

import io
import threading

import cv2
import numpy as np
from PIL import Image, TiffImagePlugin

from wit_pipeline.stages.download.image import ImageHeader

DEFAULT_MAX_DECODE_BYTES = 512 * 2**20
"""Default budget of one image's decode (--max-decode-bytes): an 8-bit RGB picture up to 89
million pixels (Pillow's own bomb limit), one with alpha up to 59 million."""
PILLOW_FORMATS = frozenset({"gif", "tiff"})
BAND_PIXELS = 1 << 19
"""Pixels composited at once: the float64 temporaries stay near 40 MB whatever the size."""
_ONE_BYTE_PIL_MODES = frozenset({"1", "L", "P"})
_LIBTIFF_LOCK = threading.Lock()


def decode_route(header: ImageHeader) -> str:
    """`opencv`, `composite` or `pillow` (see the module's docstring)."""
    if header.format in PILLOW_FORMATS:
        return "pillow"
    return "composite" if header.alpha else "opencv"


def decode_cost(header: ImageHeader) -> int:
    """Estimated peak bytes of decoding the image on its route, the Resizer's decode included:
    the largest set of full-size buffers alive at once. OpenCV's imdecode holds twice the
    picture it returns; a progressive JPEG adds its coefficients; PPM handed to the Resizer is
    alive while it decodes it. Measured: within 10% (plus about 40 MB of band buffers)."""
    route = decode_route(header)
    if route == "opencv":
        out = header.channels * header.sample_bytes
        per_pixel = max(2 * out, out + header.coefficient_bytes)
    else:
        handoff = 1 if header.channels == 1 else 3
        if route == "composite":
            decoded = 4 * header.sample_bytes
            per_pixel = max(2 * decoded, decoded + handoff, 3 * handoff)
        else:
            per_pixel = max(_pillow_bytes(header) + handoff, 3 * handoff)
    return int(header.pixels * per_pixel)


def _pillow_bytes(header: ImageHeader) -> int:
    """Bytes per pixel of Pillow's own storage of the decoded image."""
    if header.mode in _ONE_BYTE_PIL_MODES:
        return 1
    return 2 if header.sample_bytes == 2 and header.channels == 1 else 4


def over_budget(header: ImageHeader, budget: int) -> str | None:
    """Why decoding the image would not fit `budget` bytes, or None when it does."""
    cost = decode_cost(header)
    if cost <= budget:
        return None
    return (
        f"decoding {header.describe()} would take about {cost / 2**20:,.0f} MiB, "
        f"over --max-decode-bytes {budget:,}"
    )


def on_white(pixels: np.ndarray) -> np.ndarray:
    """img2dataset's alpha matting on a white background, to the byte: (H, W, 4) -> (H, W, 3)
    uint8 (channel order kept)."""
    alpha = pixels[:, :, 3, np.newaxis]
    out = alpha / 255 * pixels[..., :3] + 255 - alpha
    return np.rint(out.clip(min=0, max=255)).astype(np.uint8)


class PixelBuffer:
    """A decoded picture as a PPM/PGM stream that the Resizer reads without copying it."""

    def __init__(self, data: bytearray) -> None:
        self._data = data

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def read(self, size: int = -1) -> bytearray:
        return self._data


def _pnm(height: int, width: int, channels: int) -> tuple[bytearray, np.ndarray]:
    """An uncompressed PPM (3 channels, RGB) or PGM (1) buffer and a writable view of its
    pixels."""
    head = b"P%d\n%d %d\n255\n" % (6 if channels == 3 else 5, width, height)
    buffer = bytearray(head) + bytearray(height * width * channels)
    shape = (height, width, channels) if channels == 3 else (height, width)
    return buffer, np.frombuffer(buffer, np.uint8, offset=len(head)).reshape(shape)


def _band_rows(width: int) -> int:
    return max(1, BAND_PIXELS // max(1, width))


def _composite_opencv(body: bytes) -> PixelBuffer | None:
    """Decode with OpenCV as the Resizer does and composite 4-channel pictures band by band;
    None when OpenCV gives no alpha channel (the Resizer then takes the body as it is)."""
    pixels = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise ValueError("Image decoding error")
    if pixels.ndim != 3 or pixels.shape[2] != 4:
        return None
    height, width = pixels.shape[:2]
    buffer, view = _pnm(height, width, 3)
    rows = _band_rows(width)
    for top in range(0, height, rows):
        view[top : top + rows] = on_white(pixels[top : top + rows])[..., ::-1]
    return PixelBuffer(buffer)


def _pillow_band(image: Image.Image, top: int, bottom: int, grey: bool) -> np.ndarray:
    """Rows [top, bottom) as uint8 RGB (or grey), alpha composited as the Resizer would."""
    band = image.crop((0, top, image.width, bottom))
    if band.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return (np.asarray(band, dtype=np.uint16) >> 8).astype(np.uint8)
    if grey:
        return np.asarray(band.convert("L"))
    has_alpha = band.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        return on_white(np.asarray(band.convert("RGBA")))
    return np.asarray(band.convert("RGB"))


def _decode_pillow(body: bytes, grey: bool) -> PixelBuffer:
    """GIF (its first frame) or TIFF (through libtiff, which reads 16-bit and planar TIFFs
    right and the same way every time) decoded by Pillow, band by band into a PPM or PGM."""
    with _LIBTIFF_LOCK:
        previous, TiffImagePlugin.READ_LIBTIFF = TiffImagePlugin.READ_LIBTIFF, True
        try:
            image = Image.open(io.BytesIO(body))
        finally:
            TiffImagePlugin.READ_LIBTIFF = previous
    with image:
        image.load()
        buffer, view = _pnm(image.height, image.width, 1 if grey else 3)
        rows = _band_rows(image.width)
        for top in range(0, image.height, rows):
            view[top : top + rows] = _pillow_band(image, top, min(top + rows, image.height), grey)
    return PixelBuffer(buffer)


def resizer_input(body: bytes, header: ImageHeader | None) -> io.BytesIO | PixelBuffer:
    """What img2dataset's Resizer should read for this image: the body itself (route
    `opencv`, or no header), else the decoded, composited picture as PPM/PGM. ValueError or
    OSError when it cannot be decoded."""
    route = "opencv" if header is None else decode_route(header)
    if route == "pillow":
        return _decode_pillow(body, grey=header.channels == 1)
    if route == "composite":
        composited = _composite_opencv(body)
        if composited is not None:
            return composited
    return io.BytesIO(body)

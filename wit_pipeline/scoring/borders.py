"""Padding around a picture: uniform bands that a site added (letterbox, pillarbox, a square
canvas, a frame), found so that the picture inside hashes like its unpadded original.

Only bands that look added are cut: on both sides of an axis, of about the same thickness and
colour (padding is centred). A uniform sky at the top, or a drawing on a plain background off
centre, is part of the picture and stays.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

Box = tuple[int, int, int, int]

TOLERANCE = 10
"""Largest difference (per channel, 0-255) of a padding pixel from the band's colour: JPEG
noise on a flat area stays within it."""

UNIFORM_SHARE = 0.98
"""Share of a line's pixels that must be within TOLERANCE for the line to count as padding."""

MAX_BAND = 0.45
"""Thickest band cut from one side, as a share of the side."""

CONTENT_SHARE = 0.5
"""Share of a line, among the first lines inside a band, that must differ from the band's
colour: a picture meets its padding along the whole edge, a drawing on a plain background
only where the drawing is."""

EDGE_LINES = 3
"""Lines inside a band searched for the picture's edge (JPEG ringing blurs the first ones)."""

BLOCK = 4
"""Lines compared with a band's colour at once."""

SYMMETRY = 0.02
"""How much the two bands of an axis may differ in thickness (share of the side, at least
2 px): centred padding is even up to rounding and JPEG ringing at the picture's edge."""


def _band(lines: np.ndarray) -> tuple[int, np.ndarray, bool]:
    """The uniform band at the start of `lines` (lines, pixels, channels): its thickness
    (MAX_BAND of the side at most), its colour, and whether a picture's edge follows it.
    Read BLOCK lines at a time: most pictures have no band, and stop at the first block."""
    limit = int(len(lines) * MAX_BAND)
    colour = np.median(lines[0], axis=0)
    count = 0
    while count < limit:
        block = lines[count : min(count + BLOCK, limit)]
        far = (np.abs(block - colour).max(axis=2) > TOLERANCE).mean(axis=1)
        mixed = far > 1 - UNIFORM_SHARE
        if mixed.any():
            count += int(np.argmax(mixed))
            break
        count += len(block)
    if count >= limit:
        return limit, colour, False
    edge = (np.abs(lines[count : count + EDGE_LINES] - colour).max(axis=2) > TOLERANCE).mean(axis=1)
    return count, colour, bool(count and edge.max() >= CONTENT_SHARE)


def _padding_pair(lines: np.ndarray) -> tuple[int, int]:
    """The bands to cut at both ends of an axis, or (0, 0) unless they look like centred
    padding: the same colour at both ends, a picture's edge after at least one of them, and
    the other one as thick (or thicker, where the picture there has the padding's colour)."""
    first, first_colour, first_edge = _band(lines)
    last, last_colour, last_edge = _band(lines[::-1])
    slack = max(2, SYMMETRY * len(lines))
    if np.abs(first_colour - last_colour).max() > 2 * TOLERANCE or not (first_edge or last_edge):
        return 0, 0
    if first_edge and last_edge:
        return (first, last) if abs(first - last) <= slack else (0, 0)
    thickness, other = (first, last) if first_edge else (last, first)
    if other < thickness - slack:
        return 0, 0
    return thickness, thickness


def padding_trimmed(image: Image.Image, box: Box) -> Box | None:
    """The picture inside `box` of `image` without its padding bands, or None when it has
    none (or when cutting them would leave almost nothing: a blank image)."""
    pixels = np.asarray(image.convert("RGB").crop(box), dtype=np.int16)
    height, width = pixels.shape[:2]
    if height < 8 or width < 8:
        return None
    top, bottom = _padding_pair(pixels)
    left, right = _padding_pair(pixels.transpose(1, 0, 2))
    if not (top or bottom or left or right):
        return None
    if height - top - bottom < 4 or width - left - right < 4:
        return None
    return (box[0] + left, box[1] + top, box[2] - right, box[3] - bottom)

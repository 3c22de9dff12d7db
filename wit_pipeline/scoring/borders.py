"""Padding around a picture: uniform bands that a site added (letterbox, pillarbox, a square
canvas, a frame), found so that the picture inside hashes like its unpadded original.

Only bands that look added are cut: on both sides of an axis, of about the same thickness and
colour (padding is centred). A uniform sky at the top, or a drawing on a plain background off
centre, is part of the picture and stays.
"""

from __future__ import annotations

import numpy as np

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
    Read BLOCK lines first, then twice as many each time: most pictures have no band and stop
    at the first block, a drawing on a plain background reads its background in a few."""
    limit = int(len(lines) * MAX_BAND)
    colour = _median(lines[0])
    bounds = _bounds(colour, lines.shape[1])
    count, size = 0, BLOCK
    while count < limit:
        mixed = _far_share(lines[count : min(count + size, limit)], bounds) > 1 - UNIFORM_SHARE
        if mixed.any():
            count += int(np.argmax(mixed))
            break
        count, size = count + len(mixed), size * 2
    if count == 0 or count == limit:
        return count, colour, False
    edge = _far_share(lines[count : count + EDGE_LINES], bounds)
    return count, colour, bool(edge.max() >= CONTENT_SHARE)


def _median(line: np.ndarray) -> np.ndarray:
    """Each channel's median over a line of pixels (np.median's values, from one sort)."""
    ordered = np.sort(line, axis=0).astype(np.float64)
    middle = len(line) // 2
    return ordered[middle] if len(line) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _bounds(colour: np.ndarray, pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest value within TOLERANCE of `colour` for each channel of a line
    of `pixels` pixels, flattened ((pixels * channels,) each): integer pixels are compared
    with them as they are, without a float copy."""
    low = np.clip(np.ceil(colour - TOLERANCE), 0, 255).astype(np.uint8)
    high = np.clip(np.floor(colour + TOLERANCE), 0, 255).astype(np.uint8)
    return np.tile(low, pixels), np.tile(high, pixels)


def _far_share(block: np.ndarray, bounds: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Share of each line's pixels with a channel outside `bounds` (from `_bounds`)."""
    lines, pixels, channels = block.shape
    flat = block.reshape(lines, pixels * channels)
    far = ((flat < bounds[0]) | (flat > bounds[1])).reshape(lines, pixels, channels)
    return np.count_nonzero(far[..., 0] | far[..., 1] | far[..., 2], axis=1) / pixels


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


def padding_trimmed(rgb: np.ndarray, box: Box) -> Box | None:
    """The picture inside `box` of an RGB image's (height, width, 3) pixels without its
    padding bands, or None when it has none (or when cutting them would leave almost
    nothing: a blank image). Only the lines searched are read: most pictures have no band."""
    pixels = rgb[box[1] : box[3], box[0] : box[2]]
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

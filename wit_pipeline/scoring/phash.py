"""64-bit perceptual hashes (imagehash's DCT pHash, 8x8), as unsigned integers for indexing."""

from __future__ import annotations

import numpy as np
from PIL import Image

HASH_INPUT = 32
"""Side of the grey square the pHash transforms (imagehash's 4 x hash size)."""

_LOW = 8
_DCT_ROWS = 2.0 * np.cos(
    np.pi * np.arange(_LOW)[:, None] * (2 * np.arange(HASH_INPUT)[None, :] + 1) / (2 * HASH_INPUT)
)
"""The first 8 rows of the unnormalised DCT-II on 32 points (scipy.fftpack.dct's default)."""

Box = tuple[int, int, int, int]


def phash64(image: Image.Image, box: Box | None = None) -> int:
    """The pHash of an image (of `box` within it) as an int in [0, 2**64): bit 63 is the hash's
    first cell.

    The image is shrunk to pHash's 32x32 input with `reducing_gap` (a box reduction first,
    then LANCZOS); only the 8x8 low frequencies of the DCT are computed, as two small matrix
    products, and compared with their median: imagehash.phash's bits.
    """
    grey = image.convert("L").crop(box) if box else image.convert("L")
    return phash_bits(low_frequencies(grey))


def low_frequencies(grey: Image.Image) -> np.ndarray:
    """The 8x8 lowest DCT frequencies of a grey image shrunk to 32x32 (rows: vertical
    frequency, columns: horizontal)."""
    small = grey.resize((HASH_INPUT, HASH_INPUT), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return _DCT_ROWS @ np.asarray(small, dtype=np.float64) @ _DCT_ROWS.T


_ODD_COLUMNS = np.arange(_LOW) % 2 == 1


def mirrored_frequencies(low: np.ndarray) -> np.ndarray:
    """The low frequencies of the left-right mirror of the image: the odd horizontal
    frequencies change sign (the cosines of even ones are symmetric about the centre)."""
    flipped = low.copy()
    flipped[:, _ODD_COLUMNS] *= -1
    return flipped


def left_right_balance(low: np.ndarray) -> float:
    """How far the picture leans left or right, in [-1, 1]: the first horizontal frequency
    against all odd horizontal ones (its sign flips with a mirror; near 0 it is unreliable)."""
    norm = float(np.sqrt((low[:, _ODD_COLUMNS] ** 2).sum()))
    return float(low[0, 1]) / norm if norm > 0 else 0.0


def phash_bits(low: np.ndarray) -> int:
    """The 64 bits of pHash from the 8x8 low frequencies: each against their median."""
    middle = np.sort(low, axis=None)[31:33]
    bits = np.packbits(low > (middle[0] + middle[1]) / 2)
    return int.from_bytes(bits.tobytes(), "big")


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes."""
    return (a ^ b).bit_count()


def padded_content_box(
    width: int, height: int, original_width: int | None, original_height: int | None
) -> tuple[int, int, int, int] | None:
    """The picture inside an image that img2dataset's `border` mode letterboxed to a square.

    Hashing the padding as well would make a copy cropped by a few percent (another aspect
    ratio, so other padding) look like another image. None when there is no padding to cut.
    """
    if not original_width or not original_height or width != height:
        return None
    if original_width == original_height:
        return None
    scale = width / max(original_width, original_height)
    inner_w = max(1, round(original_width * scale))
    inner_h = max(1, round(original_height * scale))
    left, top = (width - inner_w) // 2, (height - inner_h) // 2
    margin = 1 if min(inner_w, inner_h) > 8 else 0
    return left + margin, top + margin, left + inner_w - margin, top + inner_h - margin

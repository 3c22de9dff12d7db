"""64-bit perceptual hashes (imagehash's DCT pHash, 8x8), as unsigned integers for indexing."""

from __future__ import annotations

import imagehash
import numpy as np
from PIL import Image

_WEIGHTS = (1 << np.arange(63, -1, -1, dtype=np.uint64)).astype(np.uint64)


def phash64(image: Image.Image) -> int:
    """The pHash of an image as an int in [0, 2**64): bit 63 is the hash's first cell.

    The image is shrunk to pHash's 32x32 input with `reducing_gap` (a box reduction first,
    then LANCZOS), which costs a third of imagehash's plain LANCZOS resize from full size.
    """
    small = image.convert("L").resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=2.0)
    bits = imagehash.phash(small, hash_size=8).hash.flatten().astype(np.uint64)
    return int((bits * _WEIGHTS).sum(dtype=np.uint64))


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

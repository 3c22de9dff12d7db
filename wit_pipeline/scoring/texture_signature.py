"""A picture's texture signature: which way its edges run and how fine its grain is, in 8
bytes, to confirm pairs that pHash and colour hashes alone take for copies.

pHash keeps only a picture's low frequencies and the colour hashes its colours on a coarse
grid, so two drawings of a similar shape on backgrounds of one colour match there even when
one background is striped and the other speckled or chequered; a crop view of one then meets
the other. What tells them apart changes little under a crop, a re-encode or a brightness
change, and not at all under a mirror: the share of edge strength per orientation (folded, so
a mirror has the same shares) and the ratio of one- to two-step grey changes (near 1 for
noise, near 1/2 for smooth shading). A shrunk copy of a flat drawing, whose few edges are all
it has, moves more: the dedupe checks two flat pictures only when pHash is unsure.
"""

from __future__ import annotations

import math

import numpy as np

ORIENTATIONS = 7
"""Orientation bins between horizontal and vertical edges (a gradient's angle folded into
[0, 90] degrees, so a mirrored picture has the same histogram)."""

MAX_STEP = 32
"""A grey-level step counts at most this much, so a few hard edges do not outweigh the
picture's grain."""


def _step_codes() -> np.ndarray:
    """For each (horizontal step, vertical step) pair of grey levels (index 256 x across +
    down): its orientation bin times (MAX_STEP + 1) plus its capped strength."""
    across, down = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    tangents = np.tan(np.arange(1, ORIENTATIONS) * (np.pi / 2) / ORIENTATIONS)
    bins = (down[..., None] > tangents * across[..., None]).sum(axis=-1)
    return (bins * (MAX_STEP + 1) + np.minimum(across + down, MAX_STEP)).ravel()


_STEP_CODES = _step_codes()
_STRENGTHS = np.arange(MAX_STEP + 1)
_CAP = np.int16(MAX_STEP)

BLOCKS_SIDE = 64
"""The longer side, in blocks, the signature reads a picture at."""

_RATIO_RANGE = 1.0
"""The log step ratio is kept within +-1 (its byte holds 127 steps per unit)."""

_RATIO_SCALE = 127


def texture_signature(grey: np.ndarray) -> int:
    """The signature of grey pixels as an int in [0, 2**64): bytes 0-6 the share of edge
    strength per orientation (of 255), byte 7 the log of the ratio of one- to two-step
    changes. Read on the means of square blocks that bring the picture near BLOCKS_SIDE a
    side (a copy hashed at another size, such as an eval image at full size, reads alike; an
    edge between any two pixels still shows); a block's edge orientation from its
    neighbours' differences on either side (central differences: a mirror has the same
    shares, a staircase edge reads as diagonal)."""
    blocks = _block_means(grey, max(1, round(max(grey.shape) / BLOCKS_SIDE)))
    if blocks.shape[0] < 3 or blocks.shape[1] < 3:
        return 0
    across = np.abs(blocks[:, 2:] - blocks[:, :-2])
    down = np.abs(blocks[2:] - blocks[:-2])
    codes = across[1:-1].astype(np.intp)
    codes <<= 8
    codes += down[:, 1:-1]
    counts = np.bincount(_STEP_CODES[codes].ravel(), minlength=ORIENTATIONS * (MAX_STEP + 1))
    strength = (counts.reshape(ORIENTATIONS, MAX_STEP + 1) @ _STRENGTHS).tolist()
    total = sum(strength)
    shares = [round(value * 255 / total) for value in strength] if total else [0] * ORIENTATIONS
    one = _capped_mean(np.abs(blocks[:, 1:] - blocks[:, :-1]))
    one += _capped_mean(np.abs(blocks[1:] - blocks[:-1]))
    two = _capped_mean(across) + _capped_mean(down)
    ratio = min(max(math.log((one + 0.01) / (two + 0.01)), -_RATIO_RANGE), _RATIO_RANGE)
    return int.from_bytes(bytes([*shares, round((ratio + _RATIO_RANGE) * _RATIO_SCALE)]), "little")


def _block_means(grey: np.ndarray, factor: int) -> np.ndarray:
    """Means (rounded down) of the `factor` x `factor` blocks of grey pixels, as int16 (a
    partial last row or column of blocks is left out)."""
    height, width = grey.shape[0] // factor * factor, grey.shape[1] // factor * factor
    rows = grey[0:height:factor].astype(np.int32)
    for offset in range(1, factor):
        rows += grey[offset:height:factor]
    blocks = rows[:, 0:width:factor]
    for offset in range(1, factor):
        blocks = blocks + rows[:, offset:width:factor]
    return (blocks // (factor * factor)).astype(np.int16)


def _capped_mean(steps: np.ndarray) -> float:
    """The mean of grey-level steps (int16), each counted up to MAX_STEP (in place)."""
    np.minimum(steps, _CAP, out=steps)
    return int(steps.sum(dtype=np.int32)) / steps.size


def signature_distance(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """How far apart pairs of signatures (uint64 arrays) are: the L1 distance of their
    orientation shares (0 to 2) plus the difference of their log step ratios."""
    a = first.astype("<u8").view(np.uint8).reshape(-1, 8).astype(np.int16)
    b = second.astype("<u8").view(np.uint8).reshape(-1, 8).astype(np.int16)
    shares = np.abs(a[:, :ORIENTATIONS] - b[:, :ORIENTATIONS]).sum(axis=1) / 255
    ratios = np.abs(a[:, ORIENTATIONS] - b[:, ORIENTATIONS]) / _RATIO_SCALE
    return (shares + ratios).astype(np.float32)

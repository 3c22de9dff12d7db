"""DataComp uid lists: `.npy` arrays of 128-bit uids as (high, low) unsigned 64-bit pairs,
sorted, as DataComp's baselines ship them; uids in tables are 32 hexadecimal digits."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wit_pipeline.core.atomic import atomic_write
from wit_pipeline.core.errors import InputError

UID_DTYPE = np.dtype("u8,u8")
HEX_DIGITS = 32


def uid_pairs(hex_uids: list[str | None], where: str, first_row: int = 0) -> np.ndarray:
    """(high, low) pairs of 32-digit hexadecimal uids; InputError naming the first bad one
    (rows counted from 1, after `first_row` earlier rows of the file)."""
    pairs = np.empty(len(hex_uids), UID_DTYPE)
    for row, uid in enumerate(hex_uids):
        try:
            if uid is None or len(uid) != HEX_DIGITS:
                raise ValueError
            pairs[row] = (int(uid[:16], 16), int(uid[16:], 16))
        except ValueError:
            raise InputError(
                f"{where}: row {first_row + row + 1}: uid {uid!r} is not {HEX_DIGITS} hex digits"
            ) from None
    return pairs


def hex_uids(pairs: np.ndarray) -> list[str]:
    """The 32-digit hexadecimal form of (high, low) uid pairs."""
    return [f"{int(high):016x}{int(low):016x}" for high, low in pairs.tolist()]


def read_uids(path: Path) -> np.ndarray:
    """A uid list, sorted; InputError when the file is no such list."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a .npy uid list ({str(exc)[:200]})") from exc
    if array.ndim == 2 and array.shape[1] == 2 and array.dtype == np.uint64:
        array = np.ascontiguousarray(array).view(UID_DTYPE).reshape(-1)
    if array.ndim != 1 or array.dtype.names is None or len(array.dtype.names) != 2:
        raise InputError(
            f"{path}: not a DataComp uid list (expected a 1-D array of dtype u8,u8, got "
            f"{array.dtype} with shape {array.shape})"
        )
    return np.sort(array.astype(UID_DTYPE))


def write_uids(path: Path, pairs: np.ndarray) -> int:
    """Write `pairs` as a sorted, duplicate-free uid list (atomically); how many it holds."""
    unique = np.unique(pairs.astype(UID_DTYPE))
    with atomic_write(path) as handle:
        np.save(handle, unique)
    return len(unique)


def listed(sorted_uids: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Which of `pairs` are in the sorted uid list (boolean mask)."""
    if len(sorted_uids) == 0:
        return np.zeros(len(pairs), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_uids, pairs), len(sorted_uids) - 1)
    return sorted_uids[at] == pairs

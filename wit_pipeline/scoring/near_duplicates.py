"""Exact near-duplicate search over 64-bit perceptual hashes (Hamming distance), sub-quadratic.

The index is a multi-key sort-and-compare built on a covering design, so it is exact:

- The 64 bits are cut into ``BANDS`` = 16 bands of 4 bits. Two hashes within distance ``d``
  differ in at most ``d`` bands, so at least ``16 - d`` bands match exactly.
- A *key* is a set of ``j`` bands. A family of keys is a covering when every set of ``d`` bands
  (the ones that may differ) is disjoint from some key: then every pair within distance ``d``
  agrees on all the bits of at least one key. The family is built greedily once per ``(d, j)``
  and checked exhaustively over all ``C(16, d)`` band sets (cached).
- For each key, the distinct hashes are sorted by their key bits and every pair inside a run of
  equal keys is verified by popcount. With numba installed this runs compiled
  (`near_duplicate_kernel`: keys sharing a prefix of bands share one partition pass, then a
  counting sort per key inside each cache-sized partition; each pair is reported by the first
  key that agrees on it). Without numba, each key is one numpy pass (its bits packed with the
  index into one uint64 for ``np.sort``) and pairs found by several keys are merged.
- Exact duplicates are collapsed first (one sort, `_identical_groups`) and expanded back as
  cliques at the end, so many identical hashes (blank images) cost one entry in the index.

Complexity, for ``n`` distinct hashes and ``K(d, j)`` keys of ``4j`` bits: time
``O(K * (n log n + n**2 / 2**(4j)))`` plus the output size, memory ``O(n)`` per worker plus the
output. ``j`` is chosen per call from a cost model (about ``log2(n) - 3`` bits per key at large
``n``). ``K`` grows quickly with ``d`` (with 20-bit keys: 15 at d=4, 210 at d=8, 1257 at
d=10), so large distances are much slower; from ``d = 16`` on (no exact band left) the search
falls back to blockwise all-pairs comparison, which is quadratic. The greedy band-level design
is far from the bit-level lower bound (57 keys of 20 bits at d=8): a better design is the next
lever (at 10M hashes and d=8 the compiled passes cost about 0.14 s of CPU per key).
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from types import ModuleType
from typing import NamedTuple

import numpy as np

BANDS = 16
"""Number of 4-bit bands the 64 hash bits are cut into."""

BAND_BITS = 64 // BANDS

NUMPY_COSTS = (90.0, 25.0)
"""Measured ns per hash per key pass and per candidate pair, numpy passes (cost model)."""

COMPILED_COSTS = (8.0, 1.2)
"""The same for the compiled kernel (counting sort inside cached partitions)."""

PARTITION_SIZE = 32768
"""Hashes per partition the compiled kernel aims at: a partition (16 bytes a hash) stays in L2
while each key of its group sorts and scans it; larger partitions mean fewer groups."""

MAX_REMAINDER_BANDS = 4
"""Bands a key may have beyond its group's prefix (the kernel's bucket table: 2**16; at most
as many runs of adjacent bands, which the kernel holds in registers)."""

THREADS = 2
"""Key passes run at once (numpy and numba release the GIL)."""

BRUTE_BLOCK = 2048
"""Rows per block in the all-pairs fallback (bounds its memory to BRUTE_BLOCK * n bytes)."""

EMPTY_PAIRS = np.zeros((0, 2), dtype=np.int64)


def near_duplicate_pairs(hashes: np.ndarray, max_distance: int) -> np.ndarray:
    """All index pairs ``(i, j)``, ``i < j``, with ``popcount(h[i] ^ h[j]) <= max_distance``.

    Exact (no misses, no false positives), exact duplicates included. Returns an int64 array of
    shape (M, 2), each pair once, sorted lexicographically.
    """
    return _pairs(hashes, max_distance, _compiled_kernel())


def _pairs(hashes: np.ndarray, max_distance: int, kernel: ModuleType | None) -> np.ndarray:
    """`near_duplicate_pairs` through the compiled kernel, or numpy passes when it is None."""
    values = _as_hashes(hashes)
    distance = _as_distance(max_distance)
    if values.size < 2:
        return EMPTY_PAIRS.copy()
    groups = _identical_groups(values)
    near = _distinct_pairs(groups.distinct, distance, kernel)
    return _expand_to_indices(near, groups)


def _as_hashes(hashes: np.ndarray) -> np.ndarray:
    """The input as a 1-D uint64 array; integers are reinterpreted bit for bit, floats refused."""
    array = np.asarray(hashes)
    if array.ndim != 1:
        raise ValueError(f"hashes must be a 1-D array, got shape {array.shape}")
    if array.dtype == np.uint64:
        return array
    if array.size == 0:
        return array.astype(np.uint64)
    if array.dtype.kind not in "iu":
        raise ValueError(f"hashes must be an integer array, got dtype {array.dtype}")
    if array.dtype.kind == "i" and array.dtype.itemsize == 8:
        return array.view(np.uint64)
    if array.dtype.kind == "i" and array.min() < 0:
        raise ValueError("hashes narrower than 64 bits must not be negative")
    return array.astype(np.uint64)


def _as_distance(max_distance: int) -> int:
    """The distance as a non-negative int; bools, floats and negatives are refused."""
    if isinstance(max_distance, (bool, np.bool_)) or not isinstance(
        max_distance, (int, np.integer)
    ):
        raise ValueError(f"max_distance must be an integer, got {max_distance!r}")
    if max_distance < 0:
        raise ValueError(f"max_distance must be >= 0, got {max_distance}")
    return min(int(max_distance), 64)


def _distinct_pairs(distinct: np.ndarray, distance: int, kernel: ModuleType | None) -> np.ndarray:
    """Pairs ``(a, b)``, ``a < b``, of distinct sorted hashes within ``distance`` (unsorted)."""
    if distance == 0 or distinct.size < 2:
        return EMPTY_PAIRS
    costs = COMPILED_COSTS if kernel is not None else NUMPY_COSTS
    band_count = _choose_band_count(distinct.size, distance, *costs)
    if band_count is None:
        return _brute_force_pairs(distinct, distance)
    keys = _covering_keys(distance, band_count)
    if kernel is not None:
        return _compiled_pairs(kernel, distinct, keys, distance)
    return _numpy_pairs(distinct, keys, distance)


def _numpy_pairs(distinct: np.ndarray, keys: tuple[int, ...], distance: int) -> np.ndarray:
    """The pairs found by every key, one numpy sort-and-compare pass per key (2 threads)."""
    workers = min(len(keys), THREADS)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        found = list(pool.map(lambda key: _key_pass(distinct, key, distance), keys))
    codes = np.unique(np.concatenate(found))
    n = np.int64(distinct.size)
    return np.stack([codes // n, codes % n], axis=1)


def _compiled_pairs(
    kernel: ModuleType, distinct: np.ndarray, keys: tuple[int, ...], distance: int
) -> np.ndarray:
    """The pairs found by every key through the compiled kernel, one call per prefix group.

    Each pair comes from exactly one key (the first that agrees on it), so no merge is needed.
    """
    prefix_bands = _prefix_band_count(distinct.size, bin(keys[0]).count("1"))
    design_masks = np.array([_bit_mask(key) for key in keys], dtype=np.uint64)

    def run(group: tuple[int, list[int]]) -> tuple[np.ndarray, np.ndarray]:
        prefix, members = group
        prefix_runs = _runs(prefix)
        remainders = [_runs(keys[m] & ~prefix) for m in members]
        key_runs = np.zeros((len(members), MAX_REMAINDER_BANDS, 3), dtype=np.int64)
        for row, runs in enumerate(remainders):
            key_runs[row, : len(runs)] = runs
        return kernel.group_pairs(
            distinct,
            prefix_runs,
            len(prefix_runs),
            BAND_BITS * bin(prefix).count("1"),
            key_runs,
            np.array([BAND_BITS * bin(keys[m] & ~prefix).count("1") for m in members]),
            np.array(members, dtype=np.int64),
            design_masks,
            distance,
        )

    groups = sorted(_prefix_groups(keys, prefix_bands), key=lambda g: -len(g[1]))
    with ThreadPoolExecutor(max_workers=min(len(groups), THREADS)) as pool:
        found = list(pool.map(run, groups))
    first = np.concatenate([a for a, _ in found])
    second = np.concatenate([b for _, b in found])
    return np.stack([first, second], axis=1)


def _compiled_kernel() -> ModuleType | None:
    """The numba kernel module, or None where numba is not installed (numpy passes instead)."""
    try:
        from wit_pipeline.scoring import near_duplicate_kernel
    except ImportError:
        return None
    return near_duplicate_kernel


def _prefix_band_count(n: int, band_count: int) -> int:
    """Bands shared by the keys of a group: partitions of about PARTITION_SIZE hashes, and at
    most ``MAX_REMAINDER_BANDS`` bands left to counting-sort inside a partition."""
    wanted = round((np.log2(max(n, 2)) - np.log2(PARTITION_SIZE)) / BAND_BITS)
    return int(min(band_count - 1, max(0, wanted, band_count - MAX_REMAINDER_BANDS)))


@cache
def _prefix_groups(keys: tuple[int, ...], prefix_bands: int) -> list[tuple[int, list[int]]]:
    """Keys grouped by a shared set of ``prefix_bands`` bands: (prefix, key positions), greedy
    (the prefix shared by most keys not yet grouped first)."""
    left = set(range(len(keys)))
    groups = []
    while left:
        counts: dict[int, int] = {}
        for k in sorted(left):
            for prefix in _subsets(keys[k], prefix_bands):
                counts[prefix] = counts.get(prefix, 0) + 1
        prefix = max(sorted(counts), key=counts.__getitem__)
        members = sorted(k for k in left if keys[k] & prefix == prefix)
        groups.append((prefix, members))
        left -= set(members)
    return groups


def _subsets(key: int, size: int) -> list[int]:
    """Every set of ``size`` bands out of the bands of ``key``, as bitmasks."""
    bands = [b for b in range(BANDS) if key >> b & 1]
    return [sum(1 << b for b in c) for c in itertools.combinations(bands, size)]


def _runs(key: int) -> np.ndarray:
    """The bands of ``key`` as runs of adjacent bands: rows (source shift, mask, target shift)."""
    rows, target, band = [], 0, 0
    while band < BANDS:
        if not key >> band & 1:
            band += 1
            continue
        run = 0
        while band + run < BANDS and key >> (band + run) & 1:
            run += 1
        width = BAND_BITS * run
        rows.append((BAND_BITS * band, (1 << width) - 1, target))
        target += width
        band += run
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def _bit_mask(key: int) -> int:
    """The 64-bit mask of the bands in ``key``."""
    return sum(((1 << BAND_BITS) - 1) << (BAND_BITS * b) for b in range(BANDS) if key >> b & 1)


def _choose_band_count(n: int, distance: int, item_ns: float, pair_ns: float) -> int | None:
    """Bands per key with the lowest modelled cost, or None when no key can be exact.

    Only widths near ``log2(n) - 3`` bits are considered: narrower keys give quadratic runs,
    wider ones need many more keys (and their designs take long to build).
    """
    index_bits = max(1, int(n - 1).bit_length())
    widest = min(BANDS - distance, (64 - index_bits) // BAND_BITS)
    if widest < 1:
        return None
    centre = round((np.log2(n) - 3) / BAND_BITS)
    widths = range(max(1, min(centre - 1, widest)), max(1, min(centre + 1, widest)) + 1)

    def cost(j: int) -> float:
        per_pass = n * item_ns + n * n / 2.0 ** (BAND_BITS * j + 1) * pair_ns
        return len(_covering_keys(distance, j)) * per_pass

    return min(widths, key=cost)


@cache
def _covering_keys(distance: int, band_count: int) -> tuple[int, ...]:
    """A greedy family of ``band_count``-band keys (bitmasks over bands) covering ``distance``.

    Every set of ``min(distance, BANDS)`` bands is disjoint from at least one key; asserted.
    """
    dirty = _band_sets(min(distance, BANDS))
    candidates = _band_sets(band_count)
    avoids = (candidates[:, None] & dirty[None, :]) == 0
    scores = avoids.sum(axis=1)
    alive = np.ones(dirty.size, dtype=bool)
    chosen: list[int] = []
    while alive.any():
        best = int(scores.argmax())
        newly = alive & avoids[best]
        scores -= avoids[:, newly].sum(axis=1)
        alive &= ~avoids[best]
        chosen.append(int(candidates[best]))
    covered = np.zeros(dirty.size, dtype=bool)
    for key in chosen:
        covered |= (dirty & key) == 0
    assert covered.all(), "covering design is incomplete"
    return tuple(chosen)


def _band_sets(size: int) -> np.ndarray:
    """Every set of ``size`` bands out of BANDS, as uint16 bitmasks."""
    combos = itertools.combinations(range(BANDS), size)
    return np.array([sum(1 << b for b in c) for c in combos], dtype=np.uint16)


def _key_pass(distinct: np.ndarray, key: int, distance: int) -> np.ndarray:
    """Pair codes ``a * n + b`` (a < b) of hashes that agree on ``key`` and are within distance.

    Sorts (key bits, index) packed in one uint64, then compares each run of equal keys fully by
    stepping an offset through the sorted order (contiguous, vectorised).
    """
    n = distinct.size
    index_bits = max(1, int(n - 1).bit_length())
    key_value = _extract_key(distinct, key)
    packed = (key_value << np.uint64(index_bits)) | np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & np.uint64((1 << index_bits) - 1)).astype(np.int64)
    sorted_keys = packed >> np.uint64(index_bits)
    del packed
    sorted_hashes = distinct[order]
    same = sorted_keys[1:] == sorted_keys[:-1]
    found: list[np.ndarray] = []
    starts = np.flatnonzero(same)
    offset = 1
    while starts.size:
        close = np.bitwise_count(sorted_hashes[starts] ^ sorted_hashes[starts + offset])
        hits = starts[close <= distance]
        first, second = order[hits], order[hits + offset]
        low, high = np.minimum(first, second), np.maximum(first, second)
        found.append(low * np.int64(n) + high)
        starts = starts[starts + offset < same.size]
        starts = starts[same[starts + offset]]
        offset += 1
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _extract_key(distinct: np.ndarray, key: int) -> np.ndarray:
    """The bits of the bands in ``key`` (band b = bits 4b..4b+3), packed into the low bits."""
    out = np.zeros_like(distinct)
    for source, mask, target in _runs(key).tolist():
        out |= ((distinct >> np.uint64(source)) & np.uint64(mask)) << np.uint64(target)
    return out


def _brute_force_pairs(distinct: np.ndarray, distance: int) -> np.ndarray:
    """All pairs within distance by blockwise comparison: O(n**2), for distances >= BANDS."""
    n = distinct.size
    found: list[np.ndarray] = []
    for start in range(0, n, BRUTE_BLOCK):
        rows = distinct[start : start + BRUTE_BLOCK]
        close = np.bitwise_count(rows[:, None] ^ distinct[None, :]) <= distance
        a, b = np.nonzero(close)
        a = a + start
        keep = a < b
        found.append(np.stack([a[keep], b[keep]], axis=1).astype(np.int64))
    return np.concatenate(found)


class IdenticalGroups(NamedTuple):
    """Hashes grouped by value: the distinct values (sorted), and each one's positions in the
    input (`members[starts[k] : starts[k] + counts[k]]`, ascending)."""

    distinct: np.ndarray
    members: np.ndarray
    starts: np.ndarray
    counts: np.ndarray


def _identical_groups(values: np.ndarray) -> IdenticalGroups:
    """`values` grouped by value with one plain sort (numpy's argsort of 64-bit keys, and
    `np.unique` with its inverse, cost several times more at tens of millions of hashes).

    Each value's high bits are sorted together with its position in the low bits; the rare
    runs whose high bits tie (true duplicates, chance) are then ordered by full value and
    position."""
    n = values.size
    index_bits = max(1, int(n - 1).bit_length())
    low = np.uint64((1 << index_bits) - 1)
    packed = (values & ~low) | np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & low).astype(np.int64)
    ordered = values[order]
    high = packed >> np.uint64(index_bits)
    del packed
    ties = np.flatnonzero(high[1:] == high[:-1])
    if ties.size:
        # Sorting the tied slots by full value keeps every run of equal high bits in its own
        # slots (a full value orders like its high bits), so no run label is needed.
        tied = np.unique(np.concatenate([ties, ties + 1]))
        sub = np.lexsort((order[tied], ordered[tied]))
        order[tied] = order[tied][sub]
        ordered[tied] = ordered[tied][sub]
    first = np.concatenate([[True], ordered[1:] != ordered[:-1]])
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, n))
    return IdenticalGroups(ordered[starts], order, starts, counts)


def _expand_to_indices(near: np.ndarray, groups: IdenticalGroups) -> np.ndarray:
    """Index pairs from distinct-hash pairs plus the cliques of identical hashes, sorted.

    Each distinct pair (a, b) becomes every (member of a, member of b); each distinct hash with
    k members adds its k*(k-1)/2 internal pairs.
    """
    members, starts, counts = groups.members, groups.starts, groups.counts
    cross = _cartesian(near[:, 0], near[:, 1], members, starts, counts)
    repeated = np.flatnonzero(counts > 1)
    within = _cartesian(repeated, repeated, members, starts, counts)
    pairs = np.concatenate([cross, within[within[:, 0] < within[:, 1]]])
    low, high = np.minimum(pairs[:, 0], pairs[:, 1]), np.maximum(pairs[:, 0], pairs[:, 1])
    order = np.lexsort((high, low))
    return np.stack([low[order], high[order]], axis=1)


def _cartesian(
    left: np.ndarray, right: np.ndarray, members: np.ndarray, starts: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """For each (left[t], right[t]), every (member of left[t], member of right[t]), vectorised."""
    left_n, right_n = counts[left], counts[right]
    sizes = left_n * right_n
    total = int(sizes.sum())
    if total == 0:
        return EMPTY_PAIRS
    owner = np.repeat(np.arange(left.size), sizes)
    rank = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    a = members[starts[left[owner]] + rank // right_n[owner]]
    b = members[starts[right[owner]] + rank % right_n[owner]]
    return np.stack([a, b], axis=1).astype(np.int64)

"""Near-duplicate index against its anchor, in one run on the same random hashes.

Input: uniform random 64-bit hashes, 1% of them replaced by near-duplicates of another hash
(0..D random bits flipped). Ours: ``near_duplicate_pairs`` (exact). Anchor: a plain numpy
4-band sort-and-compare (4 bands of 16 bits; per band, argsort and compare every pair inside
each run of equal band values) - exact only up to distance 3, and quadratic in the run length.
The anchor is run at sizes up to ``--anchor-max`` (default 1M; at 10M it takes minutes).

    python benchmarks/near_dup_bench.py [--sizes 1000000 10000000] [--distance 8 ...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from machine import describe_machine

from wit_pipeline.scoring import near_duplicate_pairs


def planted_hashes(size: int, distance: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random hashes with 1% near-duplicates planted, and the planted (source, copy) pairs."""
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**64, size, dtype=np.uint64)
    copies = rng.choice(size, size // 100, replace=False)
    originals = np.setdiff1d(np.arange(size), copies)
    sources = originals[rng.integers(0, originals.size, copies.size)]
    flips = np.zeros(copies.size, dtype=np.uint64)
    counts = rng.integers(0, distance + 1, copies.size)
    for step in range(distance):
        bit = rng.integers(0, 64, copies.size).astype(np.uint64)
        flips |= np.where(counts > step, np.uint64(1) << bit, np.uint64(0))
    hashes[copies] = hashes[sources] ^ flips
    planted = np.stack([np.minimum(sources, copies), np.maximum(sources, copies)], axis=1)
    return hashes, planted


def anchor_pairs(hashes: np.ndarray, distance: int) -> np.ndarray:
    """The naive 4 x 16-bit band sort-and-compare: pair codes i * n + j found within distance."""
    n = hashes.size
    found = []
    for band in range(4):
        values = (hashes >> np.uint64(16 * band)) & np.uint64(0xFFFF)
        order = np.argsort(values, kind="stable")
        ordered, sorted_hashes = values[order], hashes[order]
        offset = 1
        starts = np.flatnonzero(ordered[1:] == ordered[:-1])
        while starts.size:
            close = np.bitwise_count(sorted_hashes[starts] ^ sorted_hashes[starts + offset])
            hits = starts[close <= distance]
            low = np.minimum(order[hits], order[hits + offset])
            high = np.maximum(order[hits], order[hits + offset])
            found.append(low.astype(np.int64) * n + high)
            offset += 1
            starts = starts[starts + offset < n]
            starts = starts[ordered[starts + offset] == ordered[starts]]
    return np.unique(np.concatenate(found))


def planted_found(pairs_codes: np.ndarray, planted: np.ndarray, size: int) -> int:
    """How many planted pairs are among the found pair codes."""
    return int(np.isin(planted[:, 0] * size + planted[:, 1], pairs_codes).sum())


def run(size: int, distance: int, anchor_max: int) -> None:
    """Time ours (and the anchor when small enough) on one input and print one line each."""
    hashes, planted = planted_hashes(size, distance)
    start = time.perf_counter()
    pairs = near_duplicate_pairs(hashes, distance)
    ours = time.perf_counter() - start
    found = planted_found(pairs[:, 0] * size + pairs[:, 1], planted, size)
    print(
        f"n={size:>10,} D={distance:>2}  ours   {ours:8.2f} s  pairs={len(pairs):>9,}"
        f"  planted found {found:,}/{len(planted):,}",
        flush=True,
    )
    if size > anchor_max:
        print(f"n={size:>10,} D={distance:>2}  anchor skipped (size > --anchor-max)", flush=True)
        return
    start = time.perf_counter()
    codes = anchor_pairs(hashes, distance)
    anchor = time.perf_counter() - start
    print(
        f"n={size:>10,} D={distance:>2}  anchor {anchor:8.2f} s  pairs={len(codes):>9,}"
        f"  planted found {planted_found(codes, planted, size):,}/{len(planted):,}"
        f"  speed-up x{anchor / ours:.1f}",
        flush=True,
    )


def main() -> None:
    """Parse arguments and run every (size, distance) combination."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--distance", type=int, nargs="+", default=[8])
    parser.add_argument("--anchor-max", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"machine: {describe_machine()}, numpy {np.__version__}", flush=True)
    for distance in args.distance:
        for size in args.sizes:
            run(size, distance, args.anchor_max)


if __name__ == "__main__":
    main()

"""Near-duplicate index against its anchors, in one run on the same random hashes.

Input: uniform random 64-bit hashes, 1% of them replaced by near duplicates of another hash
(0..D random bits flipped). Ours: ``near_duplicate_pairs`` (exact; compiled with numba when it is
installed, and its numpy fallback with ``--numpy-max``). Anchors, each timed in the same run:

- a plain numpy 4-band sort-and-compare (4 bands of 16 bits; per band, argsort and compare every
  pair inside each run of equal band values): exact only up to distance 3, quadratic in the run
  length; run up to ``--anchor-max`` hashes (at 10M it takes minutes);
- brute force (numpy, every pair by popcount, in blocks) on the first ``--brute-size`` hashes,
  where ours must return exactly the same pairs (the full sizes are out of its reach: 5e13 pairs);
- imagededup's own search (``HashEval``, ``brute_force_cython``, 2 processes) on the first
  ``--imagededup-size`` hashes, when imagededup is installed.

    python benchmarks/near_dup_bench.py [--sizes 1000000 10000000] [--distance 8 4] [--json F]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from machine import describe_machine

from wit_pipeline.scoring import near_duplicates as index
from wit_pipeline.scoring.dedupe import DedupeRule, Views, candidate_view_pairs
from wit_pipeline.scoring.views import CUT_4, TEXTURED, WHOLE

BRUTE_BLOCK = 1024
TARGET_SIZE = 10_000_000


@dataclass
class Result:
    """One row of the results: ours against one anchor on one input."""

    stage: str
    metric: str
    ours: float
    anchor: str
    anchor_value: float | None
    unit: str
    ratio: float | None
    command: str
    machine: str


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


def four_band_pairs(hashes: np.ndarray, distance: int) -> np.ndarray:
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


def brute_force_codes(hashes: np.ndarray, distance: int) -> np.ndarray:
    """Every pair i < j within distance by comparing all pairs, in blocks: codes i * n + j."""
    n = hashes.size
    found = []
    for start in range(0, n, BRUTE_BLOCK):
        rows = hashes[start : start + BRUTE_BLOCK]
        close = np.bitwise_count(rows[:, None] ^ hashes[None, :]) <= distance
        a, b = np.nonzero(close)
        a = a + start
        keep = a < b
        found.append(a[keep].astype(np.int64) * n + b[keep])
    return np.sort(np.concatenate(found))


def imagededup_codes(hashes: np.ndarray, distance: int) -> np.ndarray:
    """imagededup's own search (HashEval, brute_force_cython, 2 processes): codes i * n + j."""
    from imagededup.handlers.search.retrieval import HashEval
    from imagededup.methods.hashing import Hashing

    names = {str(i): format(int(h), "016x") for i, h in enumerate(hashes)}
    found = HashEval(
        test=names,
        queries=names,
        distance_function=Hashing.hamming_distance,
        verbose=False,
        threshold=distance,
        search_method="brute_force_cython",
        num_dist_workers=2,
    ).retrieve_results()
    n = hashes.size
    codes = {
        min(int(q), int(d)) * n + max(int(q), int(d))
        for q, dups in found.items()
        for d in dups
        if d != q
    }
    return np.array(sorted(codes), dtype=np.int64)


def has_imagededup() -> bool:
    """Whether imagededup can be imported here."""
    try:
        import imagededup  # noqa: F401
    except ImportError:
        return False
    return True


def timed(run: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    """Seconds a call takes, and what it returned; its CPU seconds (all threads) are kept in
    `timed.cpu` (on a shared machine, wall time depends on what else runs)."""
    start, cpu = time.perf_counter(), time.process_time()
    out = run()
    timed.cpu = time.process_time() - cpu
    return time.perf_counter() - start, out


def our_codes(hashes: np.ndarray, distance: int, kernel: object) -> np.ndarray:
    """Our pairs as codes i * n + j."""
    pairs = index._pairs(hashes, distance, kernel)
    return pairs[:, 0] * hashes.size + pairs[:, 1]


def planted_found(codes: np.ndarray, planted: np.ndarray, size: int) -> int:
    """How many planted pairs are among the found pair codes."""
    return int(np.isin(planted[:, 0] * size + planted[:, 1], codes).sum())


class Bench:
    """Runs the comparisons and keeps one Result per comparison."""

    def __init__(self, args: argparse.Namespace, command: str, machine: str) -> None:
        self.args, self.command, self.machine = args, command, machine
        self.kernel = index._compiled_kernel()
        self.results: list[Result] = []
        index._pairs(np.arange(64, dtype=np.uint64), 8, self.kernel)  # load the compiled code

    def record(self, metric: str, ours: float, anchor: str, anchor_value: float | None) -> None:
        """Keep one comparison (ratio = anchor seconds / our seconds: the speed-up)."""
        ratio = anchor_value / ours if anchor_value else None
        self.results.append(
            Result(
                "filter", metric, ours, anchor, anchor_value, "s", ratio, self.command, self.machine
            )
        )

    def full_size(self, size: int, distance: int) -> None:
        """Ours on `size` hashes, then the anchors that can run at this size."""
        hashes, planted = planted_hashes(size, distance)
        name = "compiled" if self.kernel is not None else "numpy"
        ours, codes = timed(lambda: our_codes(hashes, distance, self.kernel))
        cpu = timed.cpu
        found = planted_found(codes, planted, size)
        print(
            f"n={size:>10,} D={distance:>2}  ours ({name}) {ours:8.2f} s ({cpu:.1f} s CPU, "
            f"load {os.getloadavg()[0]:.1f})  pairs={codes.size:>9,}"
            f"  planted found {found:,}/{len(planted):,}",
            flush=True,
        )
        metric = f"near-duplicate pairs, {size:,} hashes, D={distance}"
        if size == TARGET_SIZE:
            self.record(metric, ours, "target of the filter issue (60 s at 10M)", 60.0)
        if size <= self.args.numpy_max and self.kernel is not None:
            seconds, other = timed(lambda: our_codes(hashes, distance, None))
            print(
                f"{'':>25}numpy fallback {seconds:8.2f} s  same pairs: "
                f"{np.array_equal(np.sort(other), np.sort(codes))}",
                flush=True,
            )
            self.record(metric, ours, "our numpy fallback", seconds)
        if size <= self.args.anchor_max:
            seconds, other = timed(lambda: four_band_pairs(hashes, distance))
            print(
                f"{'':>25}4-band numpy {seconds:8.2f} s  planted found "
                f"{planted_found(other, planted, size):,}/{len(planted):,}",
                flush=True,
            )
            self.record(metric, ours, "plain numpy 4-band sort-and-compare (inexact)", seconds)
        else:
            print(f"{'':>25}4-band numpy skipped (size > --anchor-max)", flush=True)

    def subsample(self, size: int, distance: int, anchor: str, run: Callable) -> None:
        """Ours against an exhaustive anchor on the first `size` hashes; pairs must agree."""
        hashes, _ = planted_hashes(max(size, 100), distance)
        hashes = hashes[:size]
        ours, codes = timed(lambda: our_codes(hashes, distance, self.kernel))
        seconds, expected = timed(lambda: run(hashes, distance))
        same = np.array_equal(np.sort(codes), expected)
        print(
            f"n={size:>10,} D={distance:>2}  ours {ours:8.2f} s, {anchor} {seconds:8.2f} s"
            f"  speed-up x{seconds / ours:,.0f}  same {codes.size:,} pairs: {same}",
            flush=True,
        )
        if not same:
            raise SystemExit(f"ours and {anchor} disagree on {size} hashes at D={distance}")
        self.record(f"near-duplicate pairs, {size:,} hashes, D={distance}", ours, anchor, seconds)


REAL_INDEX_VIEWS = 1.21
REAL_CROP_VIEWS = 2.23
"""Views per image the dedupe indexes, measured on the real photos of the dedupe benchmark
(99 originals, `benchmarks/dedupe_real.py`): the whole picture (and its mirror when the
picture leans neither way, and the unpadded picture when it has padding), and the crop views."""


def planted_views(images: int, seed: int = 0) -> Views:
    """Views of `images` textured pictures with random hashes in the real counts per image;
    1% of the pictures are a copy of another (index views within 8 bits, crop views within 6)."""
    rng = np.random.default_rng(seed)
    extra_index = rng.random(images) < REAL_INDEX_VIEWS - 1
    crops = np.where(rng.random(images) < (REAL_CROP_VIEWS - 2) / 2, 4, 2)
    index_owner = np.concatenate([np.arange(images), np.flatnonzero(extra_index)])
    crop_owner = np.repeat(np.arange(images), crops)
    owner = np.concatenate([index_owner, crop_owner])
    hashes = rng.integers(0, 2**64, owner.size, dtype=np.uint64)
    copies = rng.choice(images, images // 100, replace=False)
    sources = rng.integers(0, images, copies.size)
    first_view = np.searchsorted(np.sort(index_owner[:images]), np.arange(images))
    flips = np.uint64(1) << rng.integers(0, 64, copies.size).astype(np.uint64)
    hashes[first_view[copies]] = hashes[first_view[sources]] ^ flips
    kind = np.concatenate(
        [np.full(index_owner.size, TEXTURED | WHOLE), np.full(crop_owner.size, TEXTURED | CUT_4)]
    ).astype(np.uint8)
    colours = np.zeros((owner.size, 2), np.uint64)
    nothing = np.zeros(owner.size, np.float32)
    return Views(owner, hashes, colours, colours, kind, nothing, np.zeros(owner.size, np.uint64))


def views_run(images: int, results: list[Result], command: str, machine: str) -> None:
    """The dedupe's index passes (both joins of `candidate_view_pairs`) on the real view count
    of `images` pictures, against the issue's target of 30 s for 10M."""
    views = planted_views(images)
    index_views = int(((views.kind & 3) == WHOLE).sum())
    crop_views = views.phash.size - index_views
    seconds, pairs = timed(lambda: candidate_view_pairs(views, DedupeRule()))
    print(
        f"{images:,} images: {index_views:,} index views (D=8) and {crop_views:,} crop views"
        f" (D=6): {seconds:.2f} s ({timed.cpu:.1f} s CPU, load "
        f"{os.getloadavg()[0]:.1f}), {len(pairs):,} view pairs",
        flush=True,
    )
    metric = f"dedupe index passes, {images:,} images ({views.phash.size:,} views)"
    results.append(
        Result(
            "filter",
            metric,
            seconds,
            "target of the dedupe issue (30 s at 10M)",
            30.0,
            "s",
            30.0 / seconds,
            command,
            machine,
        )
    )


def main() -> None:
    """Parse arguments and run every (size, distance) combination."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--distance", type=int, nargs="*", default=[8, 4])
    parser.add_argument("--anchor-max", type=int, default=1_000_000)
    parser.add_argument("--numpy-max", type=int, default=1_000_000)
    parser.add_argument("--brute-size", type=int, default=20_000)
    parser.add_argument("--imagededup-size", type=int, default=3_000)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--views",
        type=int,
        nargs="*",
        default=[],
        metavar="IMAGES",
        help="also time the dedupe's index passes on the real view count of this many images",
    )
    args = parser.parse_args()
    machine = f"{describe_machine()}, numpy {np.__version__}"
    print(f"machine: {machine}", flush=True)
    bench = Bench(args, "python benchmarks/near_dup_bench.py " + " ".join(sys.argv[1:]), machine)
    for distance in args.distance:
        bench.subsample(args.brute_size, distance, "numpy brute force", brute_force_codes)
        if has_imagededup():
            bench.subsample(args.imagededup_size, distance, "imagededup", imagededup_codes)
        else:
            print("imagededup is not installed: its anchor is skipped", flush=True)
        for size in args.sizes:
            bench.full_size(size, distance)
    for images in args.views:
        views_run(images, bench.results, bench.command, machine)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in bench.results], indent=1))


if __name__ == "__main__":
    main()

"""Semantic dedupe at scale: `scoring.semantic_dedupe.semantic_pairs` (faiss k-means + range
search inside clusters) on synthetic CLIP-like embeddings, against exact brute force.

The embeddings: `--size` unit vectors of `--width` dimensions around `--concepts` random
concept directions (as real image embeddings crowd around what they show), a `--copies` share
of them near copies of another (cosine about 0.99, what an edited re-upload gives). Exact
brute force cannot run on all of them (n^2 products), so its pairs are computed for a random
`--sample` of queries against every embedding: recall is the share of those exact pairs (cosine
above 1 - EPS) that the clustered search finds, and the brute-force time is that of the sample
scaled to every query. Prints the load average (uptime) first: two shared cores give other
figures than a quiet machine.

    python benchmarks/semantic_dedupe_bench.py [--size 1000000] [--probes 1 2] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from bench_rows import command_line, machine_summary, result_row, write_rows

from wit_pipeline.scoring.semantic_dedupe import default_clusters, semantic_pairs

CHUNK = 100_000


def embeddings(size: int, width: int, concepts: int, copies: float, seed: int) -> np.ndarray:
    """Unit vectors around concept directions, a share of them near copies of earlier ones."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(concepts, width)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = np.empty((size, width), np.float32)
    for start in range(0, size, CHUNK):
        stop = min(size, start + CHUNK)
        near = centres[rng.integers(0, concepts, stop - start)]
        x[start:stop] = near + rng.normal(scale=0.9 / np.sqrt(width), size=near.shape)
    copied = np.flatnonzero(rng.random(size) < copies)
    copied = copied[copied > 0]
    source = (rng.random(copied.size) * copied).astype(np.int64)
    for start in range(0, copied.size, CHUNK):
        rows = copied[start : start + CHUNK]
        noise = rng.normal(scale=0.1 / np.sqrt(width), size=(rows.size, width))
        x[rows] = x[source[start : start + CHUNK]] + noise
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def exact_pairs(x: np.ndarray, queries: np.ndarray, eps: float) -> tuple[set, float]:
    """Exact pairs (sorted) of the sampled queries with every embedding, and the seconds."""
    start = time.perf_counter()
    found = set()
    for at in range(0, queries.size, 256):
        batch = queries[at : at + 256]
        similarity = x[batch] @ x.T
        rows, columns = np.nonzero(similarity > 1.0 - eps)
        for query, other in zip(batch[rows].tolist(), columns.tolist(), strict=True):
            if query != other:
                found.add((min(query, other), max(query, other)))
    return found, time.perf_counter() - start


def main() -> None:
    """Generate, search with each probe count, compare with the sampled brute force."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--concepts", type=int, default=5_000)
    parser.add_argument("--copies", type=float, default=0.1)
    parser.add_argument("--eps", type=float, default=0.05)
    parser.add_argument("--clusters", type=int, default=None)
    parser.add_argument("--probes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the result rows here")
    args = parser.parse_args()
    print(f"uptime: load average {os.getloadavg()}; {machine_summary()}", flush=True)
    x = embeddings(args.size, args.width, args.concepts, args.copies, args.seed)
    queries = np.random.default_rng(args.seed + 1).choice(args.size, args.sample, replace=False)
    exact, brute_seconds = exact_pairs(x, queries, args.eps)
    brute_all = brute_seconds * args.size / args.sample
    clusters = args.clusters or default_clusters(args.size)
    print(
        f"{args.size:,} x {args.width}, {clusters} clusters, eps {args.eps}: {len(exact):,} exact "
        f"pairs of {args.sample:,} sampled queries ({brute_seconds:.1f} s; all queries "
        f"~{brute_all:.0f} s)",
        flush=True,
    )
    sampled = np.zeros(args.size, bool)
    sampled[queries] = True
    rows = []
    for probes in args.probes:
        start = time.perf_counter()
        pairs, _ = semantic_pairs(x, args.eps, args.clusters, probes)
        seconds = time.perf_counter() - start
        mine = pairs[sampled[pairs[:, 0]] | sampled[pairs[:, 1]]]
        found = {tuple(p) for p in mine.tolist()} & exact
        recall = len(found) / len(exact) if exact else 1.0
        print(
            f"probes {probes}: {seconds:.1f} s, {len(pairs):,} pairs, recall {recall:.4f} "
            f"({len(found)} of {len(exact)})",
            flush=True,
        )
        common = {"size": args.size, "probes": probes, "clusters": clusters, "eps": args.eps}
        rows.append(
            result_row(
                "semantic_dedupe",
                f"seconds, {args.size:,} embeddings, probes {probes}",
                round(seconds, 2),
                "exact brute force (extrapolated)",
                round(brute_all, 1),
                "s",
                higher_is_better=False,
                **common,
            )
        )
        rows.append(
            result_row(
                "semantic_dedupe",
                f"recall of exact pairs, probes {probes}",
                round(recall, 4),
                "exact brute force",
                1.0,
                "share",
                **common,
            )
        )
    if args.json:
        write_rows(args.json, rows, command_line("semantic_dedupe_bench.py"))


if __name__ == "__main__":
    main()

"""Semantic duplicates (SemDeDup, Abbas et al. 2023): k-means over the L2-normalised image
embeddings, then every pair inside a cluster whose cosine is above `1 - eps`.

faiss does both: an inverted-file index whose lists are the k-means clusters (spherical, trained
on at most 256 points a cluster, as faiss samples), searched by range (`range_search` returns
every vector whose inner product exceeds the radius). `probes` > 1 also looks in the next
nearest clusters, which finds pairs that a cluster border split (see BENCHMARKS.md for recall
against exact brute force). Which sample of a pair is kept is the caller's rule
(`scoring.dedupe.duplicate_of`, with the hash dedupe's rank).
"""

from __future__ import annotations

import math

import numpy as np

QUERY_BATCH = 65_536
"""Queries searched at once: bounds the result arrays faiss returns."""


def default_clusters(count: int) -> int:
    """About sqrt(n)/2 clusters (1M embeddings: 500 clusters of about 2,000)."""
    return max(1, round(math.sqrt(count) / 2))


def semantic_pairs(
    embeddings: np.ndarray,
    eps: float,
    clusters: int | None = None,
    probes: int = 1,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) of rows of (n, d) normalised embeddings in a shared cluster with cosine
    above 1 - eps, and their cosines; each pair once, sorted."""
    import faiss

    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    count, width = x.shape
    if count < 2:
        return np.zeros((0, 2), np.int64), np.zeros(0, np.float32)
    lists = min(count, clusters or default_clusters(count))
    quantizer = faiss.IndexFlatIP(width)
    index = faiss.IndexIVFFlat(quantizer, width, lists, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = seed
    index.cp.spherical = True
    index.cp.min_points_per_centroid = 1  # few points a cluster is the caller's choice
    index.train(x)
    index.add(x)
    index.nprobe = min(probes, lists)
    firsts, seconds, cosines = [], [], []
    for start in range(0, count, QUERY_BATCH):
        limits, similarity, found = index.range_search(x[start : start + QUERY_BATCH], 1.0 - eps)
        query = start + np.repeat(np.arange(limits.size - 1), np.diff(limits).astype(np.int64))
        other = found != query
        firsts.append(np.minimum(query, found)[other])
        seconds.append(np.maximum(query, found)[other])
        cosines.append(similarity[other])
    pairs = np.stack([np.concatenate(firsts), np.concatenate(seconds)], axis=1).astype(np.int64)
    cosine = np.concatenate(cosines).astype(np.float32)
    pairs, first = np.unique(pairs, axis=0, return_index=True)
    return pairs, cosine[first]

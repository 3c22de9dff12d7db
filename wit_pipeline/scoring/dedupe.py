"""Which samples duplicate which: pHash candidates, confirmed by colour hash and aspect ratio,
then grouped into one kept sample per group.

pHash alone confuses distinct simple pictures (flat shapes, logos) once there are many of them:
the chance pairs grow with the square of the collection, the true ones linearly. A candidate
pair counts only when its colour hashes are close too and its aspect ratios agree (a crop of a
few percent changes the ratio by far less than ``max_aspect_change``).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from wit_pipeline.scoring.colour_hash import colour_distance
from wit_pipeline.scoring.dedupe_rule import GROUPINGS, DedupeRule
from wit_pipeline.scoring.near_duplicates import near_duplicate_pairs

CONFIRM_BLOCK = 65536
"""Candidate pairs checked at once (bounds the check's temporary arrays to a few MB)."""


def confirmed_pairs(
    hashes: np.ndarray, colours: np.ndarray, log_aspects: np.ndarray, rule: DedupeRule
) -> np.ndarray:
    """Index pairs (i < j) within the pHash distance whose colour hashes (an (n, 2) uint64
    array) and log aspect ratios agree too. Checked in blocks of candidates, so the check adds
    a byte per candidate pair, not the colour hashes of both sides."""
    pairs = near_duplicate_pairs(hashes, rule.max_distance)
    close = np.zeros(len(pairs), dtype=bool)
    for start in range(0, len(pairs), CONFIRM_BLOCK):
        first, second = pairs[start : start + CONFIRM_BLOCK].T
        agree = colour_distance(colours[first], colours[second]) <= rule.max_colour_distance
        agree &= np.abs(log_aspects[first] - log_aspects[second]) <= rule.max_aspect_change
        close[start : start + CONFIRM_BLOCK] = agree
    return pairs[close]


def duplicate_of(
    pairs: np.ndarray, rank: np.ndarray, keepable: np.ndarray, grouping: str
) -> np.ndarray:
    """Per sample, the index of the kept sample it duplicates, or -1.

    `rank` is a permutation of 0..n-1 (0 is the best sample); `keepable` says which samples
    may be kept at all: the others (dropped by earlier rules) are still marked as duplicates
    of a kept sample.
    """
    if grouping not in GROUPINGS:
        raise ValueError(f"grouping must be one of {GROUPINGS}, got {grouping!r}")
    result = np.full(rank.size, -1, dtype=np.int64)
    if pairs.size == 0:
        return result
    if grouping == "transitive":
        return _transitive(pairs, rank, keepable, result)
    return _kept_neighbour(pairs, rank, keepable, result)


def _transitive(
    pairs: np.ndarray, rank: np.ndarray, keepable: np.ndarray, result: np.ndarray
) -> np.ndarray:
    """Every member of a component but its best keepable one points at that one."""
    count = rank.size
    graph = coo_matrix(
        (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(count, count)
    )
    _, component = connected_components(graph, directed=False)
    grouped = np.flatnonzero(np.bincount(component)[component] > 1)
    best_rank = np.full(component.max() + 1, count, dtype=np.int64)
    members = grouped[keepable[grouped]]
    np.minimum.at(best_rank, component[members], rank[members])
    by_rank = np.empty(count, dtype=np.int64)
    by_rank[rank] = np.arange(count)
    group_best = best_rank[component[grouped]]
    marked = grouped[(group_best < count) & (group_best != rank[grouped])]
    result[marked] = by_rank[best_rank[component[marked]]]
    return result


def _kept_neighbour(
    pairs: np.ndarray, rank: np.ndarray, keepable: np.ndarray, result: np.ndarray
) -> np.ndarray:
    """In rank order, a keepable sample is kept unless a kept sample is its neighbour; then
    every other sample points at its best kept neighbour, if it has one."""
    count = rank.size
    both = np.concatenate([pairs, pairs[:, ::-1]])
    both = both[np.lexsort((rank[both[:, 1]], both[:, 0]))]
    starts = np.searchsorted(both[:, 0], np.arange(count + 1))
    neighbours = both[:, 1]
    involved = np.flatnonzero(starts[1:] > starts[:-1])
    kept = np.zeros(count, dtype=bool)
    for sample in involved[np.argsort(rank[involved])].tolist():
        if keepable[sample] and not kept[neighbours[starts[sample] : starts[sample + 1]]].any():
            kept[sample] = True
    for sample in involved[~kept[involved]].tolist():
        row = neighbours[starts[sample] : starts[sample + 1]]
        hits = row[kept[row]]
        if hits.size:
            result[sample] = hits[0]
    return result

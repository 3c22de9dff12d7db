"""Which samples duplicate which: views of the pictures matched by pHash, confirmed by colour
hash and aspect ratio, then grouped into one kept sample per group.

Each sample brings several views (`wit_pipeline.scoring.views`: the whole picture, without its
padding, central crops, in a canonical orientation). Index views are paired within the pHash
distance; crop views are paired with index views within a tighter one, so a copy cropped by a
few percent meets the original's crop view, and with the same crop of another picture, so a
copy with a watermark or an overlay near its edge meets the original by their centres. pHash
alone confuses distinct simple pictures (flat shapes, logos) once there are many of them: the
chance pairs grow with the square of the collection, the true ones linearly. So a view pair
counts only when its colour hashes are close too and its aspect ratios agree; two samples are
duplicates when any of their view pairs counts, and the closest such pair is kept to show why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from wit_pipeline.scoring.colour_hash import colour_distance
from wit_pipeline.scoring.dedupe_rule import GROUPINGS, DedupeRule
from wit_pipeline.scoring.near_duplicates import near_duplicate_pairs
from wit_pipeline.scoring.texture_signature import signature_distance
from wit_pipeline.scoring.views import CUT_4, CUT_8, INDEX_REGIONS, TEXTURED, TRIMMED, same_crop

CONFIRM_BLOCK = 65536
"""View pairs checked at once (bounds the check's temporary arrays to a few MB)."""


@dataclass(frozen=True)
class Views:
    """Every view of a set of samples, as columns: the sample each belongs to (its position),
    its pHash, sharp and soft colour hashes ((n, 2) uint64 each), kind, log aspect ratio and
    its picture's texture signature (uint64)."""

    sample: np.ndarray
    phash: np.ndarray
    colour: np.ndarray
    soft_colour: np.ndarray
    kind: np.ndarray
    log_aspect: np.ndarray
    texture: np.ndarray

    @classmethod
    def concat(cls, parts: list[Views]) -> Views:
        """The views of several parts, in order (their samples numbered as they are)."""
        if not parts:
            return cls(
                np.zeros(0, np.int64),
                np.zeros(0, np.uint64),
                np.zeros((0, 2), np.uint64),
                np.zeros((0, 2), np.uint64),
                np.zeros(0, np.uint8),
                np.zeros(0, np.float32),
                np.zeros(0, np.uint64),
            )
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in _VIEW_FIELDS))

    def shifted(self, offset: int) -> Views:
        """The same views with their sample positions moved by `offset`."""
        return Views(
            self.sample + offset,
            self.phash,
            self.colour,
            self.soft_colour,
            self.kind,
            self.log_aspect,
            self.texture,
        )


_VIEW_FIELDS = ("sample", "phash", "colour", "soft_colour", "kind", "log_aspect", "texture")


@dataclass(frozen=True)
class Matches:
    """Confirmed duplicate pairs of samples (i < j, sorted), each with the view pair that
    confirmed it: pHash and colour distances, the kinds of the views of i and of j, and how
    far apart the two pictures' texture signatures are."""

    pairs: np.ndarray
    phash_distance: np.ndarray
    colour_distance: np.ndarray
    kinds: np.ndarray
    texture_change: np.ndarray

    @classmethod
    def empty(cls) -> Matches:
        """No pairs."""
        none = np.zeros(0, np.int16)
        return cls(
            np.zeros((0, 2), np.int64),
            none,
            none,
            np.zeros((0, 2), np.uint8),
            np.zeros(0, np.float32),
        )

    def find(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Row of each (first, second) sample pair (either order), or -1 where not a pair."""
        codes = self.pairs[:, 0] * _CODE_BASE + self.pairs[:, 1]
        wanted = np.minimum(first, second) * _CODE_BASE + np.maximum(first, second)
        rows = np.searchsorted(codes, wanted)
        hit = rows < codes.size
        hit[hit] = codes[rows[hit]] == wanted[hit]
        return np.where(hit, rows, -1)


_CODE_BASE = np.int64(1 << 31)
"""Sample pairs are coded as i * base + j (samples below 2**31)."""


def candidate_view_pairs(views: Views, rule: DedupeRule) -> np.ndarray:
    """View index pairs of different samples whose pHashes are close enough to check: index
    views within `max_distance`; within `crop_distance`, a crop view and an index view of a
    textured picture, or two crop views of the same region (the same centre of two pictures
    whose edges differ: an overlay, a frame, a watermark in a corner)."""
    is_index = np.isin(views.kind & 3, INDEX_REGIONS)
    index, crop = np.flatnonzero(is_index), np.flatnonzero(~is_index)
    found = [index[near_duplicate_pairs(views.phash[index], rule.max_distance)]]
    textured = index[(views.kind[index] & TEXTURED) > 0]
    if crop.size:
        both = np.concatenate([textured, crop])
        near = near_duplicate_pairs(views.phash[both], min(rule.crop_distance, 64))
        # Index views come first in `both`, and each pair is (i, j) with i < j.
        crop_index = (near[:, 0] < textured.size) & (near[:, 1] >= textured.size)
        kinds = views.kind[both[near]]
        found.append(both[near[crop_index | same_crop(kinds[:, 0], kinds[:, 1])]])
    pairs = np.concatenate(found)
    return pairs[views.sample[pairs[:, 0]] != views.sample[pairs[:, 1]]]


def matched_pairs(views: Views, rule: DedupeRule) -> Matches:
    """The confirmed duplicate pairs among the samples of `views`, each with its best view
    pair (one that names an edit before two crops of one region, then the smallest colour
    distance, then pHash distance, then kinds)."""
    pairs = candidate_view_pairs(views, rule)
    keep, phash, colour, texture = [], [], [], []
    for start in range(0, len(pairs), CONFIRM_BLOCK):
        first, second = pairs[start : start + CONFIRM_BLOCK].T
        region, other = views.kind[first] & 3, views.kind[second] & 3
        # Same framing (two whole pictures, two crops of one region): no shift between the
        # two, so the sharp colour hashes compare them, as strictly as whole pictures.
        whole = (region == other) & (region != TRIMMED)
        deep = (region == CUT_8) | (other == CUT_8)
        colours = np.where(
            whole,
            colour_distance(views.colour[first], views.colour[second]),
            colour_distance(views.soft_colour[first], views.soft_colour[second]),
        )
        phashes = np.bitwise_count(views.phash[first] ^ views.phash[second])
        whole_limit = rule.max_colour_distance + np.where(
            phashes <= rule.close_distance, rule.close_colour_slack, 0
        )
        reframed = np.where(deep, rule.deep_crop_colour_distance, rule.reframed_colour_distance)
        limit = np.where(whole, whole_limit, reframed)
        aspect = np.abs(views.log_aspect[first] - views.log_aspect[second])
        ok = (colours <= limit) & (aspect <= rule.max_aspect_change)
        # Through a crop, between a textured and a flat picture, or between two flat ones
        # (drawings: alike by the thousand) whose pHashes are not close, the hashes see too
        # little of the pictures' grain: their texture signatures must agree too. Two
        # textured pictures seen whole need not (a thumbnail's grain is not its original's),
        # nor two flat ones that pHash calls near identical (a re-encoded or shrunk logo's
        # few edges move its signature most).
        crop = (region >= CUT_4) | (other >= CUT_4)
        mixed = (views.kind[first] ^ views.kind[second]) & TEXTURED > 0
        flat = (views.kind[first] | views.kind[second]) & TEXTURED == 0
        grain = crop | mixed | (flat & (phashes > rule.close_distance))
        changes = signature_distance(views.texture[first], views.texture[second])
        ok &= ~grain | (changes <= np.float32(rule.max_texture_change))
        keep.append(start + np.flatnonzero(ok))
        colour.append(colours[ok])
        phash.append(phashes[ok])
        texture.append(changes[ok])
    if not keep:
        return Matches.empty()
    kept = pairs[np.concatenate(keep)]
    colour_d = np.concatenate(colour).astype(np.int16)
    phash_d = np.concatenate(phash).astype(np.int16)
    texture_d = np.concatenate(texture)
    samples = views.sample[kept]
    swap = samples[:, 0] > samples[:, 1]
    samples[swap] = samples[swap][:, ::-1]
    kept[swap] = kept[swap][:, ::-1]
    codes = samples[:, 0] * _CODE_BASE + samples[:, 1]
    kinds = views.kind[kept]
    centres_only = same_crop(kinds[:, 0], kinds[:, 1])
    order = np.lexsort((kinds[:, 1], kinds[:, 0], phash_d, colour_d, centres_only, codes))
    first_of_pair = np.ones(order.size, dtype=bool)
    first_of_pair[1:] = codes[order][1:] != codes[order][:-1]
    best = order[first_of_pair]
    return Matches(samples[best], phash_d[best], colour_d[best], kinds[best], texture_d[best])


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

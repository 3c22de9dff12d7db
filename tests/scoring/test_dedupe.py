"""Confirmed pairs and the two groupings against hand-made cases and a brute-force reference."""

import numpy as np
import pytest

from wit_pipeline.scoring.dedupe import DedupeRule, confirmed_pairs, duplicate_of


def _colours(count: int) -> np.ndarray:
    return np.zeros((count, 2), dtype=np.uint64)


def test_colour_and_aspect_confirm_phash_pairs():
    hashes = np.zeros(4, dtype=np.uint64)
    colours = _colours(4)
    colours[2] = [np.uint64(2**40 - 1), 0]  # 40 bits away: another colour
    aspects = np.array([0.0, 0.1, 0.0, 0.5])  # sample 3: another shape of picture
    pairs = confirmed_pairs(hashes, colours, aspects, DedupeRule(max_distance=0))
    assert pairs.tolist() == [[0, 1]]


def test_kept_grouping_does_not_chain_and_transitive_does():
    # 0 ~ 1 ~ 2 but 0 !~ 2: a chain of three
    pairs = np.array([[0, 1], [1, 2]])
    rank = np.arange(3)
    keepable = np.ones(3, dtype=bool)
    assert duplicate_of(pairs, rank, keepable, "kept").tolist() == [-1, 0, -1]
    assert duplicate_of(pairs, rank, keepable, "transitive").tolist() == [-1, 0, 0]


def test_best_keepable_sample_is_kept_and_others_still_point_at_it():
    pairs = np.array([[0, 1], [0, 2], [1, 2]])
    rank = np.array([0, 2, 1])  # sample 0 is best, then 2, then 1
    keepable = np.array([False, True, True])  # sample 0 was dropped by an earlier rule
    for grouping in ("kept", "transitive"):
        assert duplicate_of(pairs, rank, keepable, grouping).tolist() == [2, 2, -1]


def test_no_keepable_member_marks_nothing():
    pairs = np.array([[0, 1]])
    result = duplicate_of(pairs, np.arange(2), np.zeros(2, dtype=bool), "kept")
    assert result.tolist() == [-1, -1]


def _reference_kept(pairs, rank, keepable):
    neighbours = {i: set() for i in range(rank.size)}
    for a, b in pairs.tolist():
        neighbours[a].add(b)
        neighbours[b].add(a)
    kept = set()
    for sample in sorted(range(rank.size), key=lambda i: rank[i]):
        if keepable[sample] and neighbours[sample] and not neighbours[sample] & kept:
            kept.add(sample)
    result = []
    for sample in range(rank.size):
        best = sorted((n for n in neighbours[sample] if n in kept), key=lambda n: rank[n])
        result.append(best[0] if best and sample not in kept else -1)
    return result


@pytest.mark.parametrize("seed", range(5))
def test_kept_grouping_matches_a_plain_reference(seed):
    rng = np.random.default_rng(seed)
    count = 60
    pairs = np.unique(np.sort(rng.integers(0, count, (90, 2)), axis=1), axis=0)
    pairs = pairs[pairs[:, 0] < pairs[:, 1]]
    rank = rng.permutation(count)
    keepable = rng.random(count) < 0.8
    expected = _reference_kept(pairs, rank, keepable)
    assert duplicate_of(pairs, rank, keepable, "kept").tolist() == expected


def test_unknown_grouping_is_refused():
    with pytest.raises(ValueError, match="grouping"):
        duplicate_of(np.array([[0, 1]]), np.arange(2), np.ones(2, dtype=bool), "chains")

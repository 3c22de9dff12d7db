"""Confirmed pairs and the two groupings against hand-made cases and a brute-force reference."""

import numpy as np
import pytest

from wit_pipeline.scoring.dedupe import DedupeRule, Views, duplicate_of, matched_pairs
from wit_pipeline.scoring.views import (
    CUT_4,
    CUT_8,
    MIRRORED,
    TEXTURED,
    TRIMMED,
    WHOLE,
    describe_match,
)


def _views(rows: list[tuple]) -> Views:
    """Views from (sample, phash, colour bits, soft colour bits, kind, log aspect[, texture
    signature]) rows."""
    words = lambda bits: [np.uint64(bits & (2**64 - 1)), np.uint64(bits >> 64)]  # noqa: E731
    return Views(
        np.array([r[0] for r in rows], np.int64),
        np.array([r[1] for r in rows], np.uint64),
        np.array([words(r[2]) for r in rows], np.uint64).reshape(-1, 2),
        np.array([words(r[3]) for r in rows], np.uint64).reshape(-1, 2),
        np.array([r[4] for r in rows], np.uint8),
        np.array([r[5] for r in rows], np.float32),
        np.array([r[6] if len(r) > 6 else 0 for r in rows], np.uint64),
    )


def test_colour_and_aspect_confirm_whole_picture_pairs():
    views = _views(
        [
            (0, 0, 0, 0, WHOLE, 0.0),
            (1, 0, 0, 0, WHOLE, 0.1),
            (2, 0, 2**40 - 1, 0, WHOLE, 0.0),  # 40 bits away: another colour
            (3, 0, 0, 0, WHOLE, 0.5),  # another shape of picture
        ]
    )
    assert matched_pairs(views, DedupeRule(max_distance=0)).pairs.tolist() == [[0, 1]]


def test_reframed_views_are_confirmed_by_their_soft_colours():
    textured = TEXTURED | WHOLE
    views = _views(
        [
            (0, 0b1111, 2**30 - 1, 2**10 - 1, TEXTURED | CUT_4, 0.0),
            (1, 0b0011, 0, 0, textured, 0.0),  # 2 bits, soft colour 10 bits away
            (2, 0b1111, 2**40 - 1, (2**20 - 1) << 40, textured | MIRRORED, 0.0),  # 30 bits away
        ]
    )
    matches = matched_pairs(views, DedupeRule())
    assert matches.pairs.tolist() == [[0, 1]]
    assert (matches.phash_distance.tolist(), matches.colour_distance.tolist()) == ([2], [10])
    assert matches.kinds.tolist() == [[TEXTURED | CUT_4, textured]]


def _signature(shares: list[int], ratio: int) -> int:
    return int.from_bytes(bytes([*shares, ratio]), "little")


def test_crops_and_textured_to_flat_pairs_must_agree_on_texture():
    striped = _signature([255, 0, 0, 0, 0, 0, 0], 60)  # every edge one way, smooth steps
    speckled = _signature([40, 35, 35, 35, 35, 35, 40], 120)  # every way, noise
    close = _signature([230, 25, 0, 0, 0, 0, 0], 63)  # 50/255 + 3/127 from striped
    textured = TEXTURED | WHOLE
    views = _views(
        [
            (0, 0, 0, 0, TEXTURED | CUT_4, 0.0, striped),
            (1, 0, 0, 0, textured, 0.0, speckled),  # through a crop: grain differs
            (2, 0, 0, 0, textured, 0.0, close),  # through a crop: grain agrees
            (3, 2**40 - 1, 0, 0, WHOLE, 0.0, striped),  # flat, apart from 0-2 by pHash
            (4, 2**40 - 1, 0, 0, textured, 0.0, speckled),  # textured vs flat: differs
            (5, 2**40 - 1, 0, 0, textured, 0.0, striped),  # textured vs flat: agrees
        ]
    )
    rule = DedupeRule(grouping="transitive")
    pairs = matched_pairs(views, rule).pairs.tolist()
    assert [0, 1] not in pairs and [0, 2] in pairs
    assert [3, 4] not in pairs and [3, 5] in pairs
    assert [1, 2] in pairs and [4, 5] in pairs  # two textured whole pictures: hashes alone
    assert (
        matched_pairs(views, DedupeRule(max_texture_change=4.0)).pairs.tolist().count([0, 1]) == 1
    )


def test_two_flat_pictures_need_agreeing_texture_unless_phash_calls_them_near_identical():
    striped = _signature([255, 0, 0, 0, 0, 0, 0], 60)
    speckled = _signature([40, 35, 35, 35, 35, 35, 40], 120)
    views = _views(
        [
            (0, 0, 0, 0, WHOLE, 0.0, striped),
            (1, 0b11, 0, 0, WHOLE, 0.0, speckled),  # 2 bits: near identical, not checked
            (2, 0b111, 0, 0, WHOLE, 0.0, speckled),  # 3 bits: grain must agree, it does not
            (3, 0b111 << 8, 0, 0, WHOLE, 0.0, striped),  # 3 bits from 0: it agrees
        ]
    )
    pairs = matched_pairs(views, DedupeRule(grouping="transitive")).pairs.tolist()
    assert [0, 1] in pairs and [0, 2] not in pairs and [0, 3] in pairs


def test_the_8_percent_crop_needs_closer_colours_than_the_4_percent_one():
    textured = TEXTURED | WHOLE
    views = _views(
        [
            (0, 0, 0, 2**10 - 1, TEXTURED | CUT_4, 0.0),
            (1, 0, 0, 0, textured, 0.0),  # soft colour 10 bits from both crops
            (2, 0, 0, 2**10 - 1, TEXTURED | CUT_8, 0.0),
            (3, 2**63 - 1, 0, 0, textured, 0.0),
            (3, 0, 2**20 - 1, 2**8 - 1, TEXTURED | CUT_8, 0.0),  # 8 bits from sample 1
        ]
    )
    matches = matched_pairs(views, DedupeRule())
    assert matches.pairs.tolist() == [[0, 1], [1, 3]]
    assert DedupeRule().deep_crop_colour_distance == 8


def test_crop_views_meet_textured_pictures_and_the_same_crop_only():
    views = _views(
        [
            (0, 0, 0, 0, TEXTURED | CUT_4, 0.0),
            (1, 0, 0, 0, WHOLE, 0.0),  # a flat picture
            (2, 0, 0, 0, TEXTURED | CUT_8, 0.0),  # another crop: never met
            (3, 0, 0, 0, TEXTURED | CUT_4 | MIRRORED, 0.0),  # the same crop, mirrored
            (4, 0, 2**11 - 1, 0, TEXTURED | CUT_4, 0.0),  # the same crop, 11 sharp colour bits off
        ]
    )
    matches = matched_pairs(views, DedupeRule())
    assert matches.pairs.tolist() == [[0, 3]]
    assert describe_match(*matches.kinds[0].tolist()) == "edges differ, mirrored"


def test_a_pair_is_described_by_an_edit_before_the_same_crop():
    views = _views(
        [
            (0, 0, 0, 0, TEXTURED | WHOLE, 0.0),
            (0, 2**63 - 1, 0, 0, TEXTURED | CUT_8, 0.0),  # far from either whole picture
            (1, 0b11, 2**5 - 1, 0, TEXTURED | WHOLE, 0.0),  # 5 colour bits: same framing
            (1, 2**63 - 1, 0, 0, TEXTURED | CUT_8, 0.0),  # the same crop, 0 bits
        ]
    )
    matches = matched_pairs(views, DedupeRule())
    assert describe_match(*matches.kinds[0].tolist()) == "same framing"
    assert matches.colour_distance.tolist() == [5]


def test_the_closest_view_pair_describes_a_sample_pair():
    views = _views(
        [
            (0, 0, 0, 0, TEXTURED | WHOLE, 0.0),
            (0, 0, 0, 0, TEXTURED | TRIMMED, 0.0),
            (1, 0b1, 2**6 - 1, 0, TEXTURED | WHOLE, 0.0),  # whole pictures: 6 colour bits
            (1, 0b111, 0, 0, TEXTURED | TRIMMED, 0.0),  # unpadded: 0 bits, 3 pHash bits
        ]
    )
    matches = matched_pairs(views, DedupeRule())
    assert matches.colour_distance.tolist() == [0]
    assert matches.find(np.array([1, 0, 1]), np.array([0, 1, 1])).tolist() == [0, 0, -1]


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

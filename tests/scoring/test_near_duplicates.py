"""near_duplicate_pairs against a brute-force reference and edge cases."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wit_pipeline.scoring import near_duplicate_kernel, near_duplicate_pairs
from wit_pipeline.scoring import near_duplicates as index
from wit_pipeline.scoring.near_duplicates import BANDS, _covering_keys

MAX_DISTANCE = 12


def brute_pairs(hashes: np.ndarray, distance: int) -> np.ndarray:
    """Every pair i < j within distance, by comparing all pairs (lexicographic order)."""
    close = np.bitwise_count(hashes[:, None] ^ hashes[None, :]) <= distance
    i, j = np.nonzero(np.triu(close, k=1))
    return np.stack([i, j], axis=1).astype(np.int64)


def flip_bits(value: int, bits: list) -> int:
    """value with the given bit positions flipped."""
    for bit in bits:
        value ^= 1 << int(bit)
    return value


@st.composite
def planted_hashes(draw: st.DrawFn) -> tuple[np.ndarray, int]:
    """Random hashes plus copies of some of them with 0..distance distinct bits flipped."""
    distance = draw(st.integers(0, MAX_DISTANCE))
    base = draw(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=25))
    values = list(base)
    for _ in range(draw(st.integers(0, 25))):
        source = draw(st.sampled_from(values))
        flips = draw(st.integers(0, distance))
        bits = draw(st.lists(st.integers(0, 63), min_size=flips, max_size=flips, unique=True))
        values.append(flip_bits(source, bits))
    order = draw(st.permutations(range(len(values))))
    return np.array([values[k] for k in order], dtype=np.uint64), distance


@settings(max_examples=150, deadline=None)
@given(planted_hashes())
def test_matches_brute_force(case: tuple[np.ndarray, int]) -> None:
    hashes, distance = case
    assert np.array_equal(near_duplicate_pairs(hashes, distance), brute_pairs(hashes, distance))


@settings(max_examples=100, deadline=None)
@given(planted_hashes(), st.sampled_from([None, near_duplicate_kernel]))
def test_both_backends_match_brute_force(case: tuple[np.ndarray, int], kernel) -> None:
    hashes, distance = case
    found = index._pairs(hashes, distance, kernel)
    assert np.array_equal(found, brute_pairs(hashes, distance))


def random_planted(size: int, distance: int, seed: int) -> np.ndarray:
    """`size` random hashes, a fifth of them copies of others with 0..distance bits flipped."""
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**64, size, dtype=np.uint64)
    copies = rng.choice(size, size // 5, replace=False)
    for copy in copies:
        source = int(hashes[rng.integers(size)])
        bits = rng.choice(64, rng.integers(0, distance + 1), replace=False)
        hashes[copy] = flip_bits(source, list(bits))
    return hashes


@pytest.mark.parametrize("distance", [4, 8])
@pytest.mark.parametrize(("partition_size", "prefix_bands"), [(4096, 0), (64, 1), (8, 2), (1, 3)])
def test_compiled_prefix_groups_find_every_pair_once(
    monkeypatch, distance: int, partition_size: int, prefix_bands: int
) -> None:
    monkeypatch.setattr(index, "PARTITION_SIZE", partition_size)
    distinct = np.unique(random_planted(3000, distance, seed=distance))
    keys = _covering_keys(distance, 4)
    assert index._prefix_band_count(distinct.size, 4) == prefix_bands
    found = index._compiled_pairs(near_duplicate_kernel, distinct, keys, distance)
    assert len({tuple(p) for p in found.tolist()}) == len(found), "a pair reported twice"
    expected = brute_pairs(distinct, distance)
    assert np.array_equal(found[np.lexsort((found[:, 1], found[:, 0]))], expected)


def test_prefix_groups_share_their_prefix_and_cover_every_key() -> None:
    keys = _covering_keys(8, 5)
    groups = index._prefix_groups(keys, 3)
    members = sorted(m for _, group in groups for m in group)
    assert members == list(range(len(keys)))
    for prefix, group in groups:
        assert bin(prefix).count("1") == 3
        assert all(keys[m] & prefix == prefix for m in group)


@pytest.mark.parametrize("distance", [0, 1, 3, 8, 12, 16, 20])
def test_planted_pairs_at_every_distance(distance: int) -> None:
    rng = np.random.default_rng(distance)
    base = rng.integers(0, 2**64, 300, dtype=np.uint64)
    planted = [
        flip_bits(int(base[k]), list(rng.choice(64, k % (distance + 1), replace=False)))
        for k in range(60)
    ]
    hashes = np.concatenate([base, np.array(planted, dtype=np.uint64)])
    pairs = near_duplicate_pairs(hashes, distance)
    assert np.array_equal(pairs, brute_pairs(hashes, distance))
    found = {tuple(p) for p in pairs.tolist()}
    assert all((k, 300 + k) in found for k in range(60))


def test_covering_keys_leave_a_clean_key_for_every_band_set() -> None:
    for distance in range(1, 9):
        keys = _covering_keys(distance, 2)
        for dirty in range(1 << BANDS):
            if bin(dirty).count("1") <= distance:
                assert any(key & dirty == 0 for key in keys), (distance, dirty)


def test_empty_and_single_inputs_give_no_pairs() -> None:
    for hashes in (np.zeros(0, dtype=np.uint64), np.array([7], dtype=np.uint64)):
        pairs = near_duplicate_pairs(hashes, 5)
        assert pairs.shape == (0, 2)
        assert pairs.dtype == np.int64


def test_all_identical_hashes_form_one_clique() -> None:
    hashes = np.full(40, 0xDEADBEEF, dtype=np.uint64)
    pairs = near_duplicate_pairs(hashes, 0)
    assert len(pairs) == 40 * 39 // 2
    assert np.array_equal(pairs, brute_pairs(hashes, 0))


def test_exact_duplicates_are_included_and_distance_zero_excludes_neighbours() -> None:
    hashes = np.array([5, 4, 5, 5, 2**63 + 2**62 + 5], dtype=np.uint64)
    assert near_duplicate_pairs(hashes, 0).tolist() == [[0, 2], [0, 3], [2, 3]]
    assert near_duplicate_pairs(hashes, 1).tolist() == [
        [0, 1],
        [0, 2],
        [0, 3],
        [1, 2],
        [1, 3],
        [2, 3],
    ]


def test_pairs_are_ordered_unique_and_lexicographic() -> None:
    rng = np.random.default_rng(7)
    base = rng.integers(0, 2**64, 50, dtype=np.uint64)
    hashes = np.concatenate([base, base ^ np.uint64(1), base ^ np.uint64(3)])[::-1].copy()
    pairs = near_duplicate_pairs(hashes, 2)
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert len({tuple(p) for p in pairs.tolist()}) == len(pairs)
    assert np.array_equal(pairs, pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))])
    assert len(pairs) == 150


def test_distance_above_64_matches_everything() -> None:
    hashes = np.array([0, 2**64 - 1, 12345], dtype=np.uint64)
    assert near_duplicate_pairs(hashes, 100).tolist() == [[0, 1], [0, 2], [1, 2]]


def test_signed_and_narrow_integers_are_accepted_bit_for_bit() -> None:
    signed = np.array([-1, 0, -2], dtype=np.int64)
    assert near_duplicate_pairs(signed, 1).tolist() == [[0, 2]]
    narrow = np.array([1, 3, 200], dtype=np.uint8)
    assert near_duplicate_pairs(narrow, 1).tolist() == [[0, 1]]
    assert near_duplicate_pairs([1, 3], 1).tolist() == [[0, 1]]


@pytest.mark.parametrize(
    ("hashes", "distance", "message"),
    [
        (np.array([1.0, 2.0]), 1, "integer array, got dtype float64"),
        (np.zeros((2, 2), dtype=np.uint64), 1, "1-D array"),
        (np.array([-1, 2], dtype=np.int32), 1, "must not be negative"),
        (np.array([1, 2], dtype=np.uint64), -1, "max_distance must be >= 0"),
        (np.array([1, 2], dtype=np.uint64), 1.5, "max_distance must be an integer"),
        (np.array([1, 2], dtype=np.uint64), True, "max_distance must be an integer"),
    ],
)
def test_bad_input_is_refused(hashes: np.ndarray, distance: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        near_duplicate_pairs(hashes, distance)  # type: ignore[arg-type]


def test_pairs_of_a_chain_are_only_its_close_links() -> None:
    a = 0
    b = flip_bits(a, [0, 1, 2])
    c = flip_bits(b, [10, 11, 12])
    far = flip_bits(a, list(range(30, 60)))
    hashes = np.array([far, c, a, b, far], dtype=np.uint64)
    assert near_duplicate_pairs(hashes, 3).tolist() == [[0, 4], [1, 3], [2, 3]]


def test_identical_groups_match_numpy_unique_when_high_bits_tie() -> None:
    # 40 values whose bits above the position bits tie in runs (same high bits, low bits in
    # reverse order of position), with exact duplicates among them.
    rng = np.random.default_rng(3)
    highs = rng.integers(0, 4, 40).astype(np.uint64) << np.uint64(40)
    values = highs | rng.integers(0, 6, 40).astype(np.uint64)[::-1]
    groups = index._identical_groups(values)
    distinct, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    assert np.array_equal(groups.distinct, distinct)
    assert np.array_equal(groups.counts, counts)
    for k in range(distinct.size):
        members = groups.members[groups.starts[k] : groups.starts[k] + groups.counts[k]]
        assert np.array_equal(members, np.flatnonzero(inverse == k))

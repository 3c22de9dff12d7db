"""Nearest neighbours: exact search is a sorted matrix product; the faiss index finds nearly
the same neighbours, honours the filter mask, and falls back to exact when the mask is tight."""

import numpy as np
import pytest

from wit_pipeline.browse.vectors import Vectors
from wit_pipeline.core.errors import InputError


@pytest.fixture(scope="module")
def clustered() -> Vectors:
    """4,000 unit vectors around 40 centres, item ids shuffled."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, 32))
    matrix = centres[rng.integers(0, 40, 4000)] + 0.3 * rng.normal(size=(4000, 32))
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return Vectors(rng.permutation(4000), matrix.astype(np.float32))


def test_exact_search_is_the_sorted_matrix_product(clustered):
    query = clustered.matrix[7]
    found = clustered.search(query, 10)
    scores = clustered.matrix @ query
    best = np.argsort(-scores)[:10]
    assert [rid for rid, _ in found] == [int(clustered.rids[i]) for i in best]
    assert found[0] == (int(clustered.rids[7]), pytest.approx(1.0, abs=1e-5))


def test_the_mask_keeps_only_allowed_items(clustered):
    allowed = np.zeros(4000, dtype=bool)
    allowed[::3] = True
    found = clustered.search(clustered.matrix[0], 25, allowed)
    assert len(found) == 25 and all(allowed[rid] for rid, _ in found)


def test_faiss_finds_nearly_the_exact_neighbours(clustered):
    indexed = Vectors(clustered.rids, clustered.matrix)
    indexed.index = indexed.build_index("faiss")
    assert indexed.index is not None
    overlaps = []
    for row in range(0, 4000, 200):
        exact = {rid for rid, _ in clustered.search(clustered.matrix[row], 10)}
        approximate = {rid for rid, _ in indexed.search(clustered.matrix[row], 10)}
        overlaps.append(len(exact & approximate) / 10)
    assert np.mean(overlaps) >= 0.9
    allowed = np.zeros(4000, dtype=bool)
    allowed[:5] = True
    tight = indexed.search(clustered.matrix[0], 5, allowed)
    assert sorted(rid for rid, _ in tight) == [0, 1, 2, 3, 4]


def test_exact_below_the_threshold_and_unknown_kinds(clustered):
    assert clustered.build_index("auto") is None and clustered.build_index("exact") is None
    with pytest.raises(InputError, match="--index 'fast'"):
        clustered.build_index("fast")

"""Semantic pairs: k-means clusters searched by range, against exact brute force."""

import numpy as np

from wit_pipeline.scoring.semantic_dedupe import semantic_pairs


def _planted(count: int = 3000, width: int = 64, copies: int = 300) -> np.ndarray:
    """Random directions, with `copies` of them repeated with a little noise."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(count, width))
    x[count - copies :] = x[:copies] + rng.normal(scale=0.05, size=(copies, width))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _exact(x: np.ndarray, eps: float) -> set[tuple[int, int]]:
    similarity = x @ x.T
    first, second = np.nonzero(np.triu(similarity > 1.0 - eps, k=1))
    return set(zip(first.tolist(), second.tolist(), strict=True))


def test_one_cluster_is_exact_brute_force():
    x = _planted()
    pairs, cosine = semantic_pairs(x, 0.05, clusters=1)
    assert {tuple(p) for p in pairs.tolist()} == _exact(x, 0.05)
    assert (pairs[:, 0] < pairs[:, 1]).all() and (cosine > 0.95).all()
    np.testing.assert_allclose(cosine, (x[pairs[:, 0]] * x[pairs[:, 1]]).sum(1), atol=1e-5)


def test_clusters_find_most_planted_pairs_and_probes_find_more():
    x = _planted()
    exact = _exact(x, 0.05)
    assert len(exact) >= 300
    recall = []
    for probes in (1, 4):
        pairs, _ = semantic_pairs(x, 0.05, clusters=30, probes=probes)
        found = {tuple(p) for p in pairs.tolist()}
        assert found <= exact, "a reported pair is always a true one"
        recall.append(len(found) / len(exact))
    assert recall[0] > 0.8 and recall[1] >= recall[0]


def test_fewer_than_two_embeddings_have_no_pairs():
    pairs, cosine = semantic_pairs(np.ones((1, 8), np.float32), 0.1)
    assert pairs.shape == (0, 2) and cosine.size == 0

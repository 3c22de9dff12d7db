"""MetaCLIP's balancing rule on many synthetic samples: counts, probabilities, seeds."""

from pathlib import Path

import numpy as np
import pyarrow as pa

from wit_pipeline.scoring.entries import EntryList
from wit_pipeline.stages.filter.balance import Balancer, Balancing, uniform_draws

ENTRIES = EntryList(("head", "mid", "tail"), "test")


def _balance(matched: list[list[int]], cap: int, seed: int = 0, dropped=()) -> tuple:
    """Run the balancer over one shard of samples with these entry ids."""
    keys = pa.chunked_array([pa.array([f"{i:09d}" for i in range(len(matched))])])
    ids = pa.array(matched, pa.list_(pa.int32()))
    balancer = Balancer(Balancing(ENTRIES, cap=cap, seed=seed), Path("unused"))
    balancer.collect(0, ids, np.ones(len(matched), dtype=bool))
    balancer.settle(np.array(dropped, dtype=np.int64))
    alive = np.ones(len(matched), dtype=bool)
    alive[list(dropped)] = False
    out = balancer.balanced_out(keys, ids, alive)
    return {position for position, _ in out}, balancer, out


def test_head_entries_keep_about_the_cap_and_tail_entries_all():
    matched = [[0]] * 20_000 + [[1]] * 500 + [[2]] * 30 + [[]] * 10
    gone, balancer, out = _balance(matched, cap=1_000)
    assert balancer.counts.tolist() == [20_000, 500, 30]
    assert 900 <= 20_000 - len(gone) <= 1_100  # binomial(20000, 0.05): sd 31
    assert all(p < 20_000 for p in gone)  # only the head entry's samples go
    assert out[0][1] == "head: 20000 > 1000"


def test_a_sample_stays_when_any_of_its_entries_keeps_it():
    # 4000 samples match both head (p = 0.25) and mid (p = 0.5): kept with 1 - 0.75 * 0.5
    matched = [[0, 1]] * 4_000 + [[0]] * 4_000
    gone, _, _ = _balance(matched, cap=1_000 * 2)
    both = 4_000 - sum(1 for p in gone if p < 4_000)
    assert abs(both / 4_000 - (1 - 0.75 * 0.5)) < 0.03


def test_dropped_rows_are_not_counted_and_draws_follow_the_seed():
    matched = [[0]] * 100
    _, balancer, _ = _balance(matched, cap=10, dropped=range(60))
    assert balancer.counts.tolist() == [40, 0, 0]
    first, _, _ = _balance(matched, cap=10, seed=1)
    assert _balance(matched, cap=10, seed=1)[0] == first
    assert _balance(matched, cap=10, seed=2)[0] != first


def test_draws_are_uniform():
    draws = uniform_draws(np.arange(100_000, dtype=np.uint64), np.zeros(100_000, np.int64))
    assert draws.min() >= 0.0 and draws.max() < 1.0
    assert np.histogram(draws, bins=10, range=(0, 1))[0].min() > 9_500

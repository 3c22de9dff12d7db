"""The cost model: projections from the measured results scale with the pairs, keep every
stage within the hours asked for, and follow their assumptions."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def cost_model(monkeypatch) -> ModuleType:
    """benchmarks/cost_model.py, imported as the scripts import each other (by sibling name)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("cost_model")


def test_measured_costs_come_from_the_results_files(cost_model):
    m = cost_model.measured()
    assert 0 < m.scrape_cpu_s < m.download_cpu_s < 1
    assert m.gpu_images_per_s > 100 and m.bytes_per_sample > 1000
    assert set(m.sources) == {"scrape", "download", "score", "clip", "dedupe", "shard", "bytes"}


def test_ten_times_the_pairs_is_ten_times_the_work_within_the_same_hours(cost_model):
    m, a = cost_model.measured(), cost_model.Assumptions()
    small, large = (cost_model.project(pairs, 24, m, a) for pairs in (1e8, 1e9))
    assert large["gets"] == 10 * small["gets"]
    assert large["puts"] == pytest.approx(10 * small["puts"], rel=1e-3)
    assert large["egress_bytes"] == pytest.approx(10 * small["egress_bytes"])
    for result in (small, large):
        for stage in result["stages"]:
            if stage["stage"] != "filter: decide":
                assert stage["wall_hours"] <= 24
    download = {r["pairs"]: r["stages"][1]["nodes"] for r in (small, large)}
    assert download[1e9] > download[1e8] >= 1


def test_a_slower_network_needs_more_download_nodes(cost_model):
    m = cost_model.measured()
    fast = cost_model.project(1e9, 24, m, cost_model.Assumptions(node_gbps=10))
    slow = cost_model.project(1e9, 24, m, cost_model.Assumptions(node_gbps=0.1))
    assert slow["stages"][1]["nodes"] > fast["stages"][1]["nodes"]
    assert slow["web_bytes"] == fast["web_bytes"]

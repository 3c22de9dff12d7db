"""Histograms and top counts are computed in DuckDB and agree with numpy."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from wit_pipeline.catalog import open_catalog
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.report.stats import histogram, top_counts


def test_histogram_matches_numpy_and_top_counts_sum_up(tmp_path):
    workspace = Workspace(tmp_path).create()
    scores = np.random.default_rng(0).normal(0.25, 0.05, 500).astype(np.float32)
    langs = ["en"] * 300 + ["de"] * 120 + ["fr"] * 50 + ["es"] * 30
    pq.write_table(
        pa.table({"key": [str(i) for i in range(500)], "clip_score": scores, "lang": langs}),
        workspace.scores_dir / "00000.parquet",
    )
    with open_catalog(workspace) as catalog:
        result = histogram(catalog, "scores", "clip_score", bins=20)
        constant = histogram(catalog, "scores", "1", bins=20)
        empty = histogram(catalog, "scores WHERE clip_score > 5", "clip_score")
        top = top_counts(catalog, "scores", "lang", 2)
    expected, edges = np.histogram(scores.astype(np.float64), bins=20)
    assert result.counts == expected.tolist()
    assert np.allclose(result.edges, edges)
    assert (constant.counts, constant.edges) == ([500], [0.5, 1.5])
    assert empty is None
    assert top == [("en", 300), ("de", 120), ("other", 80)]

"""The browse benchmark runs end to end at a tiny size and writes one row per request and
vector index, each against the 1 s target."""

import importlib
import json
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_browse_bench_writes_rows(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("browse_bench")
    out = tmp_path / "browse.json"
    assert bench.main(["--rows", "2500", "--dim", "16", "--repeats", "1", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert {r["index"] for r in rows} == {"exact", "faiss"}
    assert len(rows) == 24 and all(r["anchor_value"] == 1.0 and r["ours"] > 0 for r in rows)
    assert all(r["rows"] == 2500 and r["open_s"] > 0 for r in rows)

"""BENCHMARKS.md generation: tables from the benchmarks' JSON rows, the scale study's bounds,
and a clear line for what was not measured."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def bench(monkeypatch) -> dict[str, ModuleType]:
    """The benchmark helper modules, imported as the scripts import them (by sibling name)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    names = ("bench_rows", "bench_report", "scale_study")
    return {name: importlib.import_module(name) for name in names}


def write_rows(bench, path: Path, rows: list[dict]) -> None:
    bench["bench_rows"].write_rows(path, rows, "python benchmarks/x.py --n 3")


def test_result_row_orients_the_ratio_so_above_one_means_ours_is_faster(bench):
    result_row = bench["bench_rows"].result_row
    rate = result_row("scrape", "pages/s", 600.0, "bs4", 30.0, "pages/s")
    time = result_row("download", "wall", 20.0, "img2dataset", 30.0, "s", higher_is_better=False)
    assert rate["ratio"] == 20.0
    assert time["ratio"] == 1.5


def test_command_line_leaves_out_the_json_output(bench):
    command_line = bench["bench_rows"].command_line
    argv = ["--pages", "300", "--json", "/tmp/out.json", "--repeat", "2"]
    assert command_line("scrape_bench.py", argv) == (
        "python benchmarks/scrape_bench.py --pages 300 --repeat 2"
    )


def test_render_fills_tables_and_says_what_was_not_measured(bench, tmp_path):
    results = tmp_path / "results"
    row = bench["bench_rows"].result_row(
        "scrape", "pages/s, whole stage", 640.0, "warcio + bs4", 32.0, "pages/s"
    )
    write_rows(bench, results / "scrape.json", [row])
    run = {
        "date": "2026-01-01 10:00",
        "code": "abc123",
        "machine": "test machine",
        "total_s": 600.0,
        "benchmarks": {
            "scrape": {"status": "ok", "seconds": 42.0, "command": "python benchmarks/x.py",
                       "date": "2026-01-01 10:01"},
            "score": {"status": "ran; no --json support yet, so no figures were read",
                      "seconds": 5.0, "command": "python benchmarks/score_bench.py",
                      "date": "2026-01-01 10:02"},
        },
    }  # fmt: skip
    (results / "run.json").write_text(json.dumps(run))
    template = tmp_path / "in.md"
    template.write_text(
        "# B\n\n{{run}}\n\n## scrape\n{{table scrape}}\n\n## score\n{{table score}}\n"
    )
    output = tmp_path / "B.md"
    bench["bench_report"].render(results, template, output)
    text = output.read_text()
    assert "| pages/s, whole stage | 640 | warcio + bs4 | 32.0 | pages/s | **20.00x** |" in text
    assert "    python benchmarks/x.py --n 3" in text
    assert "the whole run took 10.0 min" in text
    assert "_Not measured in this run (ran; no --json support yet" in text


def test_render_rejects_a_row_without_the_common_keys(bench, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "shard.json").write_text(json.dumps([{"stage": "shard", "metric": "write"}]))
    template = tmp_path / "in.md"
    template.write_text("{{table shard}}\n")
    with pytest.raises(ValueError, match=r"shard.json: row 0 lacks ours"):
        bench["bench_report"].render(results, template, tmp_path / "B.md")


def test_render_rejects_an_unknown_placeholder(bench, tmp_path):
    template = tmp_path / "in.md"
    template.write_text("{{tabel scrape}}\n")
    with pytest.raises(ValueError, match="unknown placeholder"):
        bench["bench_report"].render(tmp_path, template, tmp_path / "B.md")


def scale_result(samples: int, step: str, peak: float, items: int) -> dict:
    return {
        "samples": samples,
        "step": step,
        "wall_s": samples / 1000,
        "peak_tree_mb": peak,
        "peak_process_mb": peak,
        "items": items,
        "command": "python benchmarks/scale_study.py",
    }


def test_scale_bounds_flat_peaks_and_bytes_per_sample_of_the_dedupe(bench):
    results = [
        scale_result(10_000, "download", 900.0, 9_500),
        scale_result(100_000, "download", 1_800.0, 95_000),
        scale_result(10_000, "filter: decide (global dedupe)", 300.0, 9_500),
        scale_result(100_000, "filter: decide (global dedupe)", 301.0, 95_000),
    ]
    checks = {c["step"]: c for c in bench["scale_study"].bounds(results, 10_000, 100_000)}
    assert checks["download"]["value"] == 2.0
    assert checks["download"]["holds"] is False
    dedupe = checks["filter: decide (global dedupe)"]
    assert dedupe["value"] == pytest.approx(2**20 / 85_500, abs=0.1)
    assert dedupe["holds"] is True
    assert checks["download"]["bytes_per_item"] == pytest.approx(900 * 2**20 / 85_500, abs=0.1)


def test_a_bound_across_different_code_says_so(bench, tmp_path):
    low, high = (
        scale_result(10_000, "shard", 200.0, 8_000),
        scale_result(100_000, "shard", 210.0, 80_000),
    )
    low["code"], high["code"] = "aaa", "bbb"
    study = {"machine": "m", "code": "c", "date": "d", "figure": "f.png", "results": [low, high]}
    study["bounds"] = bench["scale_study"].bounds(study["results"], 10_000, 100_000)
    (tmp_path / "scale.json").write_text(json.dumps(study))
    text = "\n".join(bench["bench_report"].scale_section(tmp_path))
    assert "| yes (the code changed between the two sizes) |" in text


def test_scale_section_shows_sizes_bounds_and_the_figure(bench, tmp_path):
    results = [
        scale_result(10_000, "shard", 200.0, 8_000),
        scale_result(100_000, "shard", 500.0, 80_000),
    ]
    study = {
        "machine": "test machine",
        "code": "abc123",
        "date": "2026-01-01",
        "results": results,
        "bounds": bench["scale_study"].bounds(results, 10_000, 100_000),
        "figure": "benchmarks/figures/scale.png",
    }
    (tmp_path / "scale.json").write_text(json.dumps(study))
    text = "\n".join(bench["bench_report"].scale_section(tmp_path))
    assert "| shard | 200 | 500 | <= 1.5x | 2.50x | **no** | 4,369 | 500 |" in text
    assert "![time and peak memory against samples, log-log](benchmarks/figures/scale.png)" in text


def test_a_partial_run_keeps_the_records_of_the_benchmarks_it_did_not_run(bench, tmp_path):
    run_all = importlib.import_module("run_all")
    path = tmp_path / "run.json"
    first = {"scrape": {"status": "ok"}, "shard": {"status": "ok"}}
    run_all.update_run_record(path, first, 600.0, full=True)
    run_all.update_run_record(path, {"shard": {"status": "failed (exit 1)"}}, 30.0, full=False)
    run = json.loads(path.read_text())
    assert run["total_s"] == 600.0
    assert run["benchmarks"] == {"scrape": {"status": "ok"}, "shard": {"status": "failed (exit 1)"}}
    assert run["partial_rerun"]["names"] == ["shard"]


def test_commands_under_a_table_leave_out_where_the_figures_were_written(bench, tmp_path):
    row = bench["bench_rows"].result_row("shard", "write | copy", 2.0, "tarfile", 4.0, "samples/s")
    command = "python benchmarks/shard_bench.py --pages 5 --json /tmp/shard.json --repeats 2"
    bench["bench_rows"].write_rows(tmp_path / "shard.json", [row], command)
    text = "\n".join(bench["bench_report"].table_section(tmp_path, "shard", {}))
    assert "    python benchmarks/shard_bench.py --pages 5 --repeats 2\n" in text
    assert "| write \\| copy | 2.00 | tarfile | 4.00 | samples/s | **0.50x** |" in text

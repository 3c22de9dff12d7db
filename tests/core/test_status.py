"""Workspace status tells absent, partial and complete stages apart from the files alone."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit_pipeline.core.markers import Markers
from wit_pipeline.core.status import format_status, next_command
from wit_pipeline.core.workspace import Workspace, default_workdir
from wit_pipeline.status import workspace_status


def _by_stage(workspace):
    return {s.stage: s for s in workspace_status(workspace)}


def test_default_workdir_honours_env(monkeypatch):
    monkeypatch.delenv("WIT_WORKDIR", raising=False)
    assert str(default_workdir()) == "wit-data"
    monkeypatch.setenv("WIT_WORKDIR", "/data/build1")
    assert str(default_workdir()) == "/data/build1"


def test_missing_workspace(tmp_path):
    workspace = Workspace(tmp_path / "nope")
    statuses = workspace_status(workspace)
    assert {s.state for s in statuses} == {"absent"}
    assert "does not exist" in format_status(workspace, statuses)


def test_empty_workspace(tmp_path):
    workspace = Workspace(tmp_path).create()
    text = format_status(workspace, workspace_status(workspace))
    assert "empty: no stage has written anything yet" in text
    assert text.count("absent") == 7


def test_complete_pairs_and_partial_raw(tmp_path):
    workspace = Workspace(tmp_path).create()
    for i, rows in enumerate([3, 4]):
        pq.write_table(
            pa.table({"url": ["u"] * rows}), workspace.pairs_dir / f"part-{i:05d}.parquet"
        )
        Markers(workspace.pairs_dir).mark_done(f"part-{i:05d}")
    Markers(workspace.pairs_dir).mark_stage_done()
    for shard in ("00000", "00001"):
        pq.write_table(pa.table({"url": ["u"] * 5}), workspace.raw_dir / f"{shard}.parquet")
        (workspace.raw_dir / f"{shard}.tar").write_bytes(b"")
    (workspace.raw_dir / "00000_stats.json").write_text("{}")
    Markers(workspace.raw_dir).mark_done("00000")
    (workspace.raw_dir / ".00002.tar.tmp-99-abcd").write_bytes(b"half")

    stages = _by_stage(workspace)
    assert (stages["pairs"].state, stages["pairs"].rows, stages["pairs"].units_done) == (
        "complete",
        7,
        2,
    )
    raw = stages["raw"]
    assert (raw.state, raw.units, raw.units_done, raw.rows) == ("partial", 2, 1, 10)
    assert "1 temporary files left by an interrupted run" in raw.detail
    assert "1 units without a completion marker" in raw.detail
    assert stages["scores"].state == "absent"


def test_unfinished_stage_without_missing_units_is_partial(tmp_path):
    workspace = Workspace(tmp_path).create()
    pq.write_table(pa.table({"url": ["u"]}), workspace.scores_dir / "00000.parquet")
    Markers(workspace.scores_dir).mark_done("00000")
    scores = _by_stage(workspace)["scores"]
    assert scores.state == "partial" and scores.detail == "stage not marked finished"


def test_file_stages_and_shard_sizes(tmp_path):
    workspace = Workspace(tmp_path).create()
    pq.write_table(pa.table({"key": ["a", "b"], "keep": [True, False]}), workspace.decisions_path)
    (workspace.shards_dir / "00000.tar").write_bytes(b"")
    (workspace.shards_dir / "sizes.json").write_text(json.dumps({"00000.tar": 9}))
    Markers(workspace.shards_dir).mark_done("00000")
    Markers(workspace.shards_dir).mark_stage_done()
    stages = _by_stage(workspace)
    assert (stages["decisions"].state, stages["decisions"].rows) == ("complete", 2)
    assert (stages["shards"].state, stages["shards"].rows) == ("complete", 9)
    assert stages["report"].state == "absent"


def test_unreadable_parquet_is_reported_not_raised(tmp_path):
    workspace = Workspace(tmp_path).create()
    (workspace.pairs_dir / "part-00000.parquet").write_bytes(b"garbage")
    pairs = _by_stage(workspace)["pairs"]
    assert pairs.state == "partial" and "unreadable: part-00000.parquet" in pairs.detail


def _raw_shard(workspace, shard, rows=2, done=True):
    pq.write_table(pa.table({"url": ["u"] * rows}), workspace.raw_dir / f"{shard}.parquet")
    (workspace.raw_dir / f"{shard}.tar").write_bytes(b"")
    if done:
        Markers(workspace.raw_dir).mark_done(shard)


def test_interrupted_download_shows_progress_against_its_plan(tmp_path):
    workspace = Workspace(tmp_path).create()
    plan = workspace.raw_dir / ".input" / "plan.json"
    plan.parent.mkdir()
    plan.write_text(json.dumps({"input": {}, "shards": [f"{i:05d}.arrow" for i in range(4)]}))
    _raw_shard(workspace, "00000")
    raw = _by_stage(workspace)["raw"]
    assert (raw.state, raw.units, raw.units_done) == ("partial", 4, 1)
    assert raw.progress == "1/4 shards downloaded"
    assert raw.last_write_seconds is not None and raw.last_write_seconds < 3600
    text = format_status(workspace, workspace_status(workspace))
    assert "raw: running or interrupted: 1/4 shards downloaded, last write" in text
    assert text.endswith("next: wit-pipeline download   (resumes raw)")


def test_scoring_progress_counts_the_raw_shards(tmp_path):
    workspace = Workspace(tmp_path).create()
    for shard in ("00000", "00001", "00002"):
        _raw_shard(workspace, shard)
    Markers(workspace.raw_dir).mark_stage_done()
    pq.write_table(pa.table({"key": ["a"]}), workspace.scores_dir / "00000.parquet")
    Markers(workspace.scores_dir).mark_done("00000")
    scores = _by_stage(workspace)["scores"]
    assert (scores.state, scores.units, scores.units_done) == ("partial", 3, 1)
    assert scores.progress == "1/3 raw shards scored"
    assert "next: wit-pipeline filter   (resumes scores)" in format_status(
        workspace, workspace_status(workspace)
    )


def test_shard_progress_counts_kept_samples(tmp_path):
    workspace = Workspace(tmp_path).create()
    pq.write_table(
        pa.table({"key": list("abcd"), "keep": [True, True, True, False]}), workspace.decisions_path
    )
    (workspace.shards_dir / "00000.tar").write_bytes(b"")
    Markers(workspace.shards_dir).mark_done("00000", {"samples": 2})
    shards = _by_stage(workspace)["shards"]
    assert (shards.state, shards.progress) == ("partial", "2/3 kept samples written")


def test_scrape_units_before_the_merge_are_progress(tmp_path):
    workspace = Workspace(tmp_path).create()
    Markers(workspace.pairs_dir / ".units").mark_done("warc-0123456789abcdef")
    pairs = _by_stage(workspace)["pairs"]
    assert (pairs.state, pairs.progress) == (
        "partial",
        "1 source units scraped, not merged into parts yet",
    )


def _complete(workspace, stages):
    if "raw" in stages:
        _raw_shard(workspace, "00000")
        Markers(workspace.raw_dir).mark_stage_done()
    if "scores" in stages:
        pq.write_table(pa.table({"key": ["a"]}), workspace.scores_dir / "00000.parquet")
        Markers(workspace.scores_dir).mark_done("00000")
        Markers(workspace.scores_dir).mark_stage_done()
    if "decisions" in stages:
        pq.write_table(pa.table({"key": ["a"], "keep": [True]}), workspace.decisions_path)
    if "shards" in stages:
        (workspace.shards_dir / "00000.tar").write_bytes(b"")
        Markers(workspace.shards_dir).mark_done("00000", {"samples": 1})
        Markers(workspace.shards_dir).mark_stage_done()
    if "report" in stages:
        (workspace.report_dir / "index.html").write_text("<html></html>")


@pytest.mark.parametrize(
    ("stages", "suggestion"),
    [
        ((), "wit-pipeline scrape SOURCE...   (or download URLS.parquet, or adopt FOLDER)"),
        (("raw",), "wit-pipeline filter"),
        (("raw", "scores"), "wit-pipeline filter"),
        (("raw", "scores", "decisions"), "wit-pipeline shard"),
        (("raw", "scores", "decisions", "shards"), "wit-pipeline report"),
        (
            ("raw", "scores", "decisions", "shards", "report"),
            'nothing left to build; query the dataset with wit-pipeline sql "SELECT ..."',
        ),
    ],
)
def test_next_command_follows_the_last_stage_with_output(tmp_path, stages, suggestion):
    workspace = Workspace(tmp_path).create()
    _complete(workspace, stages)
    statuses = workspace_status(workspace)
    assert next_command(statuses) == suggestion
    assert format_status(workspace, statuses).endswith(f"next: {suggestion}")

"""Workspace status tells absent, partial and complete stages apart from the files alone."""

import json

import pyarrow as pa
import pyarrow.parquet as pq

from wit_pipeline.core.markers import Markers
from wit_pipeline.core.status import format_status, workspace_status
from wit_pipeline.core.workspace import Workspace, default_workdir


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

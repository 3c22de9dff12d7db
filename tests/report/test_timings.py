"""Stage times come from the stage markers, and for the download from img2dataset's stats."""

import json

from wit_pipeline.core.markers import Markers
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.report.timings import stage_timings


def test_download_time_from_stats_files_and_others_from_markers(tmp_path):
    workspace = Workspace(tmp_path).create()
    for shard, (start, end, count) in enumerate([(100.0, 104.0, 40), (101.0, 110.0, 20)]):
        stats = {"count": count, "start_time": start, "end_time": end, "duration": end - start}
        (workspace.raw_dir / f"{shard:05d}_stats.json").write_text(json.dumps(stats))
    scores = Markers(workspace.scores_dir)
    scores.mark_done("00000", {"rows": 40})
    scores.mark_done("00001", {"rows": 20})
    scores.mark_stage_done({"seconds": 3.0})
    Markers(workspace.shards_dir).mark_done("00000", {"samples": 5})

    timings = {t.stage: t for t in stage_timings(workspace)}
    assert set(timings) == {"download", "filter (score)", "shard"}
    download = timings["download"]
    assert (download.units, download.items, download.seconds) == (2, 60, 10.0)
    assert download.throughput == 6.0 and "_stats.json" in download.source
    assert (timings["filter (score)"].items, timings["filter (score)"].throughput) == (60, 20.0)
    assert timings["shard"].seconds is None and timings["shard"].throughput is None


def test_stage_marker_time_wins_over_stats(tmp_path):
    workspace = Workspace(tmp_path).create()
    stats = {"count": 10, "start_time": 0.0, "end_time": 100.0}
    (workspace.raw_dir / "00000_stats.json").write_text(json.dumps(stats))
    Markers(workspace.raw_dir).mark_stage_done({"seconds": 4})
    (download,) = stage_timings(workspace)
    assert (download.seconds, download.source) == (4.0, "stage marker")

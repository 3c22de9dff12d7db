"""A workspace on object storage (memory:// here, in this process): the pipeline through
`wit-pipeline run` makes the same shards as on a local folder; markers name each unit's
objects; a second run does nothing; status and sql read it; other commands say in one line
that they need a local workspace."""

import contextlib
import io
import json
import time

import fsspec
import pyarrow.parquet as pq
import pytest
import yaml

from tests.workspaces import pipeline_config
from wit_pipeline.cli import main

REMOTE = "memory://wit-remote-test/w"


def _run(path) -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["run", str(path)]) == 0
    return out.getvalue().splitlines()


@pytest.fixture(scope="module")
def runs(tmp_path_factory, testweb):
    """The same config run on a local folder, and twice on memory://."""
    root = tmp_path_factory.mktemp("remote")
    local, remote = root / "local.yaml", root / "remote.yaml"
    local.write_text(yaml.safe_dump(pipeline_config(testweb, str(root / "w"))))
    remote.write_text(yaml.safe_dump(pipeline_config(testweb, REMOTE)))
    _run(local)
    outputs = [_run(remote), _run(remote)]
    yield root / "w", outputs
    fsspec.filesystem("memory").rm("/wit-remote-test", recursive=True)


def _objects() -> dict[str, bytes]:
    fs = fsspec.filesystem("memory")
    base = "/wit-remote-test/w/"
    return {path[len(base) :]: fs.cat_file(path) for path in fs.find(base)}


def test_shards_on_object_storage_are_the_local_ones(runs):
    local, (first, second) = runs
    assert first[-1].startswith("run: 4 of 4 stages ran")
    assert second[-1].startswith("run: nothing to do")
    objects = _objects()
    tars = sorted(p.name for p in (local / "shards").glob("*.tar"))
    assert len(tars) > 1
    for name in [*tars, "sizes.json"]:
        assert objects[f"shards/{name}"] == (local / "shards" / name).read_bytes(), name
    assert pq.read_table(io.BytesIO(objects["decisions.parquet"])).equals(
        pq.read_table(local / "decisions.parquet")
    )
    assert not any(name.startswith(("catalog", ".locks/")) for name in objects)


def test_unit_markers_name_their_objects_with_sizes_and_checksums(runs):
    objects = _objects()
    marker = json.loads(objects["raw/.done/00000.json"])
    named = marker["objects"]
    assert {"raw/00000.tar", "raw/00000.parquet", "raw/00000_stats.json"} <= set(named)
    for name, facts in named.items():
        assert facts["size"] == len(objects[name])
    scores = json.loads(objects["scores/.done/00000.json"])["objects"]
    assert set(scores) == {"scores/00000.parquet"}


def _command(*words: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--workdir", REMOTE, *words])
    return code, out.getvalue(), err.getvalue()


def test_status_and_sql_read_the_workspace_on_object_storage(runs):
    local, _ = runs
    code, out, _ = _command("status", "--json")
    assert code == 0
    status = json.loads(out)
    assert status["workspace"] == REMOTE
    states = {s["stage"]: s["state"] for s in status["stages"]}
    assert states["shards"] == states["raw"] == states["decisions"] == "complete"
    assert {s["path"] for s in status["stages"]} >= {f"{REMOTE}/raw", f"{REMOTE}/shards"}
    code, out, _ = _command("sql", "SELECT count(*) AS n FROM decisions WHERE keep", "--json")
    kept = pq.read_table(local / "decisions.parquet").column("keep").to_pylist()
    assert code == 0 and json.loads(out) == [{"n": sum(kept)}]


@pytest.mark.parametrize("words", [["adopt", "x"], ["search", "a dog"], ["train"]])
def test_commands_that_need_a_local_workspace_say_so_in_one_line(runs, words):
    code, _, err = _command(*words)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "object storage" in err, err


def test_a_unit_whose_object_went_missing_runs_again(runs):
    fs = fsspec.filesystem("memory")
    lost = "/wit-remote-test/w/raw/00001.tar"
    fs.rm(lost)
    code, out, err = _command("download", "--samples-per-shard", "40", "--processes", "1",
                              "--allow-private-networks", "--timeout", "1", "--retries", "1",
                              "--threads", "16", "pairs")  # fmt: skip
    assert code == 0, err
    assert "(1 run, " in out, out
    marker = json.loads(fs.cat_file("/wit-remote-test/w/raw/.done/00001.json"))
    assert marker["objects"]["raw/00001.tar"]["size"] == fs.size(lost) > 0


def test_a_second_writer_of_a_stage_is_refused_in_one_line(runs):
    fs = fsspec.filesystem("memory")
    lease = "/wit-remote-test/w/.locks/filter.lock"
    holder = {"pid": 1, "host": "other-host", "since": "now", "command": "wit-pipeline filter"}
    fs.pipe_file(lease, json.dumps({**holder, "expires": time.time() + 60}).encode())
    before = fs.cat_file("/wit-remote-test/w/decisions.parquet")
    try:
        code, _, err = _command(
            "filter", "--clip-model", "none", "--workers", "0", "--min-caption-words", "3"
        )
        assert json.loads(fs.cat_file(lease))["host"] == "other-host"  # the holder's, kept
    finally:
        fs.rm(lease)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "another filter is running" in err and "other-host" in err
    assert fs.cat_file("/wit-remote-test/w/decisions.parquet") == before


def test_the_report_shows_the_pictures_read_from_the_store(runs, tmp_path):
    code, _, err = _command("report", "--out", str(tmp_path / "report.html"))
    assert code == 0, err
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/jpeg;base64,") > 5
    assert _command("report")[0] == 0
    assert b"data:image/jpeg;base64," in _objects()["report/index.html"]


def test_download_overwrite_removes_the_old_tars_from_the_store(runs):
    fs = fsspec.filesystem("memory")
    assert fs.exists("/wit-remote-test/w/raw/00001.tar")
    code, out, err = _command("download", "--overwrite", "--samples-per-shard", "1000",
                              "--allow-private-networks", "--timeout", "1", "--retries", "1",
                              "--threads", "16")  # fmt: skip
    assert code == 0, err
    tars = [p.rsplit("/", 1)[-1] for p in fs.glob("/wit-remote-test/w/raw/*.tar")]
    assert tars == ["00000.tar"], out

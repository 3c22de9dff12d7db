"""The workspace as untrusted input and a shared resource: `sql` is read-only and confined,
hand-edited decisions cannot reach outside the workspace, glob characters in its path are
plain characters, one writer per stage, and bad rows cannot write to the terminal."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.reliability.hostile_tars import sample, write_tar
from tests.reliability.killing import REPO
from tests.workspaces import write_urls
from wit_pipeline.cli import main

SQL_REFUSED = [
    ("SELECT * FROM read_csv('/etc/passwd')", "Permission Error"),
    ("COPY (SELECT 1) TO '{root}/copied.csv'", "one read-only query is allowed"),
    ("ATTACH '{root}/other.db'", "one read-only query is allowed"),
    ("EXPORT DATABASE '{root}/export'", "one read-only query is allowed"),
    ("CREATE TABLE kept AS SELECT 1", "one read-only query is allowed"),
    ("INSTALL httpfs", "one read-only query is allowed"),
    ("SELECT 1; DROP VIEW samples", "one read-only query is allowed"),
    ("SET enable_external_access = true", "one read-only query is allowed"),
    ("SELECT * FROM nowhere", "nowhere"),
    ("SELEC 1", "syntax error"),
]


def run_cli(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


@pytest.fixture
def workspace_root(filtered_testweb, tmp_path) -> Path:
    root = tmp_path / "w"
    shutil.copytree(filtered_testweb, root)
    return root


@pytest.mark.parametrize(("query", "message"), SQL_REFUSED, ids=[q for q, _ in SQL_REFUSED])
def test_sql_reads_only_the_workspace_and_writes_nothing(workspace_root, capsys, query, message):
    before = snapshot(workspace_root.parent)
    code = run_cli(["--workdir", str(workspace_root), "sql", query.format(root=workspace_root)])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(err) == 1, err
    assert message in err[0]
    assert snapshot(workspace_root.parent) == before


def test_sql_still_answers_queries_over_the_views(workspace_root, capsys):
    query = "SELECT count(*) AS n FROM decisions WHERE keep"
    assert run_cli(["--workdir", str(workspace_root), "sql", "--json", query]) == 0
    kept = sum(pq.read_table(workspace_root / "decisions.parquet")["keep"].to_pylist())
    assert json.loads(capsys.readouterr().out) == [{"n": kept}]


def test_hand_edited_decisions_cannot_reach_outside_or_repeat(workspace_root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    write_tar(outside / "secret.tar", sample("000000000", caption="a secret"))
    table = pq.read_table(workspace_root / "decisions.parquet")
    kept = table.filter(pa.compute.equal(table["keep"], True))
    first = kept.slice(0, 1).to_pylist()[0]
    escape = {**first, "shard": "../../outside/secret", "key": "000000000"}
    rows = [*table.to_pylist(), first, first, escape]
    pq.write_table(
        pa.Table.from_pylist(rows, schema=table.schema), workspace_root / "decisions.parquet"
    )
    assert run_cli(["--workdir", str(workspace_root), "-q", "shard"]) == 0
    rejected = pq.read_table(workspace_root / "shards" / "rejected.parquet").to_pylist()
    reasons = sorted(r["reason"].split(":")[0].split(";")[0] for r in rejected)
    assert reasons == [
        "decisions.parquet keeps this sample more than once",
        "decisions.parquet keeps this sample more than once",
        "decisions.parquet names raw shard '../../outside/secret'",
    ]
    captions = []
    for path in sorted((workspace_root / "shards").glob("*.tar")):
        with tarfile.open(path) as tar:
            captions += [tar.extractfile(m).read() for m in tar if m.name.endswith(".txt")]
    assert b"a secret" not in captions and len(captions) == kept.num_rows
    assert (
        run_cli(["--workdir", str(workspace_root), "verify-shards", str(workspace_root / "shards")])
        == 0
    )


def test_glob_characters_in_the_workspace_path_are_plain(filtered_testweb, tmp_path, capsys):
    root = tmp_path / "data [v1]*" / "w"
    shutil.copytree(filtered_testweb, root)
    base = ["--workdir", str(root), "-q"]
    assert run_cli([*base, "filter", "--clip-model", "none", "--workers", "0"]) == 0
    assert run_cli([*base, "shard", "--samples-per-shard", "8"]) == 0
    assert run_cli([*base, "verify-shards", str(root / "shards")]) == 0
    capsys.readouterr()
    assert run_cli([*base, "sql", "--json", "SELECT count(*) AS n FROM manifest"]) == 0
    sharded = sum(json.loads((root / "shards" / "sizes.json").read_text()).values())
    assert json.loads(capsys.readouterr().out) == [{"n": sharded}]
    assert run_cli([*base, "report"]) == 0
    assert (root / "report" / "index.html").is_file()


HOLDER = """
import sys, time
from wit_pipeline.core.lock import stage_lock
from wit_pipeline.core.workspace import Workspace
with stage_lock(sys.argv[1], "download"):
    Workspace.at(sys.argv[1]).prepare()
    print("held", flush=True)
    time.sleep(120)
"""


def test_one_download_at_a_time_and_a_dead_holder_is_taken_over(
    tmp_path, testweb, testweb_truth, capsys
):
    root = tmp_path / "w"
    urls = write_urls(tmp_path / "urls.parquet", testweb_truth[:3])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        argv = ["--workdir", str(root), "-q", "download", str(urls), "--allow-private-networks"]
        argv += ["--timeout", "1", "--retries", "0", "--processes", "1"]
        assert run_cli(argv) == 2
        err = capsys.readouterr().err
        assert f"another download is running on this workspace (pid {holder.pid}" in err
        assert not (root / "raw").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert run_cli(argv) == 0
    assert len(pq.read_table(root / "raw" / "00000.parquet")) == 3


def test_a_bad_row_cannot_write_to_the_terminal(tmp_path, capsys):
    path = tmp_path / "urls.csv"
    path.write_text("url,caption\nhttp://a.test/\x1b[31mred\x1b]0;title\x07,a b,extra\n")
    assert run_cli(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "\\x1b[31mred" in err


def test_a_row_longer_than_a_megabyte_is_a_row(tmp_path, capsys):
    path = tmp_path / "urls.csv"
    path.write_text(f"url,caption\nhttp://a.test/1.jpg,{'long ' * 400_000}\n")
    assert run_cli(["validate", str(path)]) == 0, capsys.readouterr().err


def test_stale_temp_cleanup_removes_a_link_never_its_target(tmp_path):
    from wit_pipeline.core.atomic import remove_stale_temps

    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "keep.txt").write_text("precious")
    folder = tmp_path / "stage"
    folder.mkdir()
    link = folder / ".00000.tar.tmp-1-abcd"
    link.symlink_to(target, target_is_directory=True)
    assert remove_stale_temps(folder) == [link]
    assert not link.is_symlink() and (target / "keep.txt").read_text() == "precious"

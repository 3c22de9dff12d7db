"""The DuckDB catalog of a workspace and the `sql` command: views over the stage files, a clear
error for stages not run yet, output as table, CSV, JSON or parquet."""

import json
import subprocess
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit_pipeline.catalog import VIEWS, open_catalog, refresh_catalog
from wit_pipeline.cli import main
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.workspace import Workspace


def _raw(workspace: Workspace, shard: str, statuses: list[str]) -> None:
    keys = [f"{shard}{i:04d}" for i in range(len(statuses))]
    pq.write_table(
        pa.table(
            {
                "url": [f"http://h{i % 2}.test/{k}.jpg" for i, k in enumerate(keys)],
                "caption": [f"caption {k}" for k in keys],
                "key": keys,
                "status": statuses,
            }
        ),
        workspace.raw_dir / f"{shard}.parquet",
    )


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    """Raw shards 00000 (2 rows) and 00001 (1 row), and decisions; no pairs, scores or shards."""
    workspace = Workspace(tmp_path / "w").create()
    _raw(workspace, "00000", ["success", "failed_to_download"])
    _raw(workspace, "00001", ["success"])
    pq.write_table(
        pa.table(
            {
                "key": ["000000000", "000000001", "000010000"],
                "shard": ["00000", "00000", "00001"],
                "keep": [True, False, True],
                "reason": ["kept", "failed_to_download", "kept"],
                "reasons": [[], ["failed_to_download"], []],
                "clip_score": [0.31, None, 0.25],
            }
        ),
        workspace.decisions_path,
    )
    return workspace


def _sql(workspace: Workspace, *args: str) -> int:
    return main(["--workdir", str(workspace.root), "sql", *args])


def test_views_of_present_stages_live_in_the_catalog_file(workspace):
    assert refresh_catalog(workspace) == ["samples", "decisions"]
    with duckdb.connect(str(workspace.catalog_path), read_only=True) as connection:
        shards = dict(
            connection.execute("SELECT shard, count(*) FROM samples GROUP BY 1").fetchall()
        )
        joined = connection.execute(
            "SELECT count(*) FROM decisions d JOIN samples s USING (shard, key)"
        ).fetchone()[0]
    assert shards == {"00000": 2, "00001": 1}
    assert joined == 3, "decisions join samples on (shard, key)"
    assert set(VIEWS) == {
        "pairs",
        "samples",
        "scores",
        "entries",
        "head_scores",
        "decisions",
        "manifest",
    }


def test_shards_written_later_show_up_without_a_refresh(workspace):
    refresh_catalog(workspace)
    _raw(workspace, "00002", ["success"] * 4)
    with duckdb.connect(str(workspace.catalog_path), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM samples").fetchone()[0] == 7


def test_view_of_a_stage_not_run_names_the_command(workspace):
    with open_catalog(workspace) as catalog, pytest.raises(InputError) as error:
        catalog.query("SELECT count(*) FROM scores")
    assert "view 'scores' has no data yet" in str(error.value)
    assert "run `wit-pipeline filter` first" in str(error.value)


def test_views_follow_the_files(workspace):
    refresh_catalog(workspace)
    workspace.decisions_path.unlink()
    assert refresh_catalog(workspace) == ["samples"]
    with open_catalog(workspace) as catalog, pytest.raises(InputError, match="decisions"):
        catalog.query("SELECT * FROM decisions")


def test_bad_sql_is_one_line(workspace):
    with open_catalog(workspace) as catalog, pytest.raises(InputError) as error:
        catalog.query("SELEC 1")
    assert str(error.value).startswith("sql: Parser Error") and "\n" not in str(error.value)


def test_missing_workspace_is_an_input_error(tmp_path):
    with (
        pytest.raises(InputError, match="no workspace there"),
        open_catalog(Workspace(tmp_path / "none")),
    ):
        pass


def test_locked_catalog_answers_from_memory(workspace):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
            "sys.stdin.read()",
            str(workspace.catalog_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(workspace.catalog_path))
        with open_catalog(workspace) as catalog:
            assert catalog.scalar("SELECT count(*) FROM samples") == 3
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_sql_prints_an_aligned_table(workspace, capsys):
    query = "SELECT key, clip_score, reasons FROM decisions ORDER BY key"
    assert _sql(workspace, query, "--max-rows", "2") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["key", "clip_score", "reasons"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].split() == ["000000000", "0.31", "[]"]
    assert lines[3].split() == ["000000001", "NULL", '["failed_to_download"]']
    assert lines[-1] == "(3 rows, first 2 shown; --csv, --json or --parquet FILE give all)"
    assert lines[2].index("0.31") + 4 == lines[0].index("clip_score") + 10, "numbers right-aligned"


def test_sql_csv_json_and_parquet(workspace, tmp_path, capsys):
    query = "SELECT key, keep, reasons FROM decisions ORDER BY key"
    assert _sql(workspace, "--csv", query) == 0
    assert capsys.readouterr().out.splitlines() == [
        "key,keep,reasons",
        "000000000,true,[]",
        '000000001,false,"[""failed_to_download""]"',
        "000010000,true,[]",
    ]
    assert _sql(workspace, "--json", query) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[1] == {"key": "000000001", "keep": False, "reasons": ["failed_to_download"]}
    out = tmp_path / "out" / "kept.parquet"
    assert _sql(workspace, "--parquet", str(out), query + " LIMIT 2") == 0
    assert pq.read_table(out).to_pylist()[0] == {"key": "000000000", "keep": True, "reasons": []}
    assert "wrote 2 rows to" in capsys.readouterr().out


def test_sql_errors_exit_2_with_one_line(workspace, capsys):
    assert _sql(workspace, "SELECT * FROM manifest") == 2
    assert "run `wit-pipeline shard` first" in capsys.readouterr().err
    assert _sql(workspace, "SELECT nope FROM samples") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope" in err


def test_damaged_catalog_file_answers_from_memory(workspace, caplog):
    workspace.catalog_path.write_bytes(b"this is not a duckdb file" * 200)
    with open_catalog(workspace) as catalog:
        assert catalog.scalar("SELECT count(*) FROM decisions WHERE keep") == 2
    assert "using an in-memory catalog" in caplog.text

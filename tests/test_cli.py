"""The command line: help everywhere, one-line usage errors with exit 2, status and validate."""

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit_pipeline.cli import main

SUBCOMMANDS = [
    ["status"],
    ["validate"],
    ["schema"],
    ["testweb"],
    ["testweb", "serve"],
    ["testweb", "build"],
]


@pytest.mark.parametrize("words", [[], *SUBCOMMANDS])
def test_help_everywhere(words, capsys):
    with pytest.raises(SystemExit) as info:
        main([*words, "--help"])
    assert info.value.code == 0
    assert "usage: wit-pipeline" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["status", "--bogus"], "unrecognized arguments: --bogus"),
        (["validate"], "the following arguments are required: path"),
        (["testweb", "serve", "--port", "70000"], "must be 0..65535, got 70000"),
        (["testweb", "build", "d", "--pages", "0"], "must be at least 1, got 0"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_usage_errors_are_one_line_exit_2(argv, fragment, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err and err.startswith("wit-pipeline")


def test_status_missing_workspace(tmp_path, capsys):
    assert main(["--workdir", str(tmp_path / "none"), "status"]) == 0
    assert "does not exist" in capsys.readouterr().out


def test_status_workdir_after_subcommand_and_env(tmp_path, capsys, monkeypatch):
    (tmp_path / "pairs").mkdir()
    assert main(["status", "--workdir", str(tmp_path)]) == 0
    assert f"workspace {tmp_path}" in capsys.readouterr().out
    monkeypatch.setenv("WIT_WORKDIR", str(tmp_path))
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert f"workspace {tmp_path}" in out and "empty: no stage has written anything yet" in out


def test_status_json_reports_partial_stage(tmp_path, capsys):
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    pq.write_table(pa.table({"url": ["u", "v"]}), pairs / "part-00000.parquet")
    assert main(["--workdir", str(tmp_path), "status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    pairs_status = next(s for s in report["stages"] if s["stage"] == "pairs")
    assert (pairs_status["state"], pairs_status["rows"], pairs_status["units_done"]) == (
        "partial",
        2,
        0,
    )


def test_validate_bad_input_exit_2_with_the_line(tmp_path, capsys):
    path = tmp_path / "urls.parquet"
    pq.write_table(pa.table({"url": ["http://h/a.jpg", None]}), path)
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"{path}: column 'url': 1 row is null (row 2)\n"
    assert "invalid as 'pairs': 1 files, 2 rows, 1 problems" in captured.out


def test_validate_good_input(tmp_path, capsys):
    path = tmp_path / "urls.csv"
    path.write_text("url,caption\nhttp://h/a.jpg,a red star\n")
    assert main(["validate", str(path), "--require", "url,caption"]) == 0
    assert "valid as 'pairs': 1 files, 1 rows, 0 problems" in capsys.readouterr().out


def test_schema_prints_columns(capsys):
    assert main(["schema", "decisions"]) == 0
    out = capsys.readouterr().out
    assert "keep" in out and "bool" in out and "reason" in out


def test_console_script_is_installed():
    exe = Path(sys.executable).with_name("wit-pipeline")
    assert exe.is_file(), (
        f"the wit-pipeline console script is not installed beside {sys.executable}"
    )
    result = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("wit-pipeline ")


def test_commands_that_never_train_do_not_import_torch(tmp_path):
    """Every command registers train's options; reading them must not load torch (~700 MB)."""
    probe = (
        "import sys; from wit_pipeline.cli import main; "
        f"code = main(['--workdir', {str(tmp_path / 'w')!r}, 'status']); "
        "print(code, 'torch' in sys.modules, 'open_clip' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.split()[-2:] == ["False", "False"], result.stdout + result.stderr


def test_train_small_public_names_load_on_demand():
    import train_small

    assert callable(train_small.evaluate) and callable(train_small.train)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        train_small.nope  # noqa: B018

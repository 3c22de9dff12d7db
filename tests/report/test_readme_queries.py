"""Every `wit-pipeline sql` example in the README answers on a test-web workspace."""

import json
import shlex
from pathlib import Path

import pyarrow.parquet as pq

from wit_pipeline.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Looking at the dataset (report, sql, status)"
OUTPUT_FLAGS = ("--csv", "--json", "--parquet")


def readme_examples() -> list[list[str]]:
    """The arguments of each `wit-pipeline sql ...` line of the README's section."""
    text = README.read_text(encoding="utf-8").split(SECTION, 1)[1].split("\n## ", 1)[0]
    lines = [line.strip() for line in text.splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("wit-pipeline sql ")]


def test_readme_has_examples():
    examples = readme_examples()
    assert 4 <= len(examples) <= 8
    assert {"decisions", "samples", "scores", "manifest", "pairs"} <= {
        word for example in examples for word in example[-1].replace(",", " ").split()
    }


def test_every_readme_example_answers(reported_workspace, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for example in readme_examples():
        has_output = any(flag in example for flag in OUTPUT_FLAGS)
        args = example if has_output else [example[0], "--json", *example[1:]]
        capsys.readouterr()
        assert main(["--workdir", str(reported_workspace.root), *args]) == 0, example
        if "--parquet" in args:
            path = tmp_path / args[args.index("--parquet") + 1]
            assert pq.read_metadata(path).num_rows > 0, example
        else:
            assert len(json.loads(capsys.readouterr().out)) > 0, example

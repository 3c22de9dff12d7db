"""Every `wit-pipeline search` example of the README's browse section runs on a test-web
workspace and prints results."""

import shlex
from pathlib import Path

from wit_pipeline.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Looking inside: browse and search"


def readme_examples() -> list[list[str]]:
    """The arguments of each `wit-pipeline search ...` line of the section, comments cut."""
    text = README.read_text(encoding="utf-8").split(SECTION, 1)[1].split("\n## ", 1)[0]
    lines = [line.strip() for line in text.splitlines()]
    return [
        shlex.split(line, comments=True)[1:]
        for line in lines
        if line.startswith("wit-pipeline search ")
    ]


def test_every_readme_search_answers(browse_workspace, capsys):
    examples = readme_examples()
    assert len(examples) >= 3
    for example in examples:
        capsys.readouterr()
        assert main(["--workdir", str(browse_workspace.root), *example]) == 0, example
        assert capsys.readouterr().out.strip(), example

"""A workdir is a local folder: a URL (s3://, gs://, ...) is refused by every command with one
line and exit 2, never taken as a local folder named after its scheme."""

import pytest

from wit_pipeline.cli import main
from wit_pipeline.config import config_from_dict
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.workspace import Workspace, workdir_path

COMMANDS = [
    ["status"],
    ["sql", "SELECT 1"],
    ["demo"],
    ["scrape", "page.html"],
    ["download", "urls.parquet"],
    ["filter"],
    ["shard"],
    ["report"],
    ["train"],
    ["verify-shards", "."],
]


@pytest.fixture
def in_empty_folder(tmp_path, monkeypatch):
    """Run in an empty folder, to see that nothing (no `s3:` folder) appears in it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WIT_WORKDIR", raising=False)
    return tmp_path


@pytest.mark.parametrize("words", COMMANDS, ids=lambda words: words[0])
@pytest.mark.parametrize("url", ["s3://bucket/w", "gs://bucket/w", "memory://w"])
def test_every_command_refuses_a_url_workdir(words, url, in_empty_folder, capsys):
    assert main(["--workdir", url, *words]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"wit-pipeline: error: --workdir {url}: a workspace on object storage")
    assert list(in_empty_folder.iterdir()) == []


def test_wit_workdir_url_is_refused_naming_the_variable(in_empty_folder, monkeypatch, capsys):
    monkeypatch.setenv("WIT_WORKDIR", "s3://bucket/w")
    assert main(["shard"]) == 2
    assert capsys.readouterr().err.startswith("wit-pipeline: error: $WIT_WORKDIR s3://bucket/w:")
    assert list(in_empty_folder.iterdir()) == []


def test_run_config_workdir_url_names_the_file_and_key(in_empty_folder, capsys):
    config = in_empty_folder / "run.yaml"
    config.write_text("workdir: s3://bucket/w\nscrape:\n  sources: [page.html]\n")
    assert main(["run", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"wit-pipeline: error: {config}: workdir: s3://bucket/w: a workspace")
    assert main(["run", str(config), "--workdir", "gs://b/w"]) == 2
    assert capsys.readouterr().err.startswith("wit-pipeline: error: --workdir gs://b/w: ")
    assert sorted(p.name for p in in_empty_folder.iterdir()) == ["run.yaml"]


def test_dag_params_with_a_url_workdir_fail_before_any_stage():
    with pytest.raises(InputError, match=r"^dag: workdir: s3://b/w: a workspace on object"):
        config_from_dict({"workdir": "s3://b/w"}, "dag")


def test_plain_paths_and_file_urls_are_local_folders(tmp_path):
    assert workdir_path(tmp_path) == tmp_path
    assert workdir_path(f"file://{tmp_path}/w") == tmp_path / "w"
    assert Workspace.at(f"file://{tmp_path}").root == tmp_path

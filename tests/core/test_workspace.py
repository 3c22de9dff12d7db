"""A workdir is a local folder or a URL on object storage (s3://, gs://, memory://, ...): a URL
is never taken as a local folder named after its scheme; commands that need a local workspace
refuse one in one line (exit 2), as does a store that cannot be read."""

import json

import pytest

from wit_pipeline.cli import main
from wit_pipeline.config import config_from_dict
from wit_pipeline.core.workspace import Workspace, workdir_path

LOCAL_ONLY = [["demo"], ["adopt", "x"], ["train"], ["search", "a dog"], ["build-entries", "o"]]


@pytest.fixture
def in_empty_folder(tmp_path, monkeypatch):
    """Run in an empty folder, to see that nothing (no `s3:` folder) appears in it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WIT_WORKDIR", raising=False)
    return tmp_path


@pytest.mark.parametrize("words", LOCAL_ONLY, ids=lambda words: words[0])
def test_commands_that_need_a_local_workspace_refuse_a_url_in_one_line(
    words, in_empty_folder, capsys
):
    assert main(["--workdir", "memory://wit-workspace-test/w", *words]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "object storage" in err, err
    assert list(in_empty_folder.iterdir()) == []


@pytest.mark.parametrize("words", [["status"], ["filter"], ["shard"]], ids=lambda w: w[0])
def test_a_store_whose_package_is_missing_is_named_in_one_line(words, in_empty_folder, capsys):
    assert main(["--workdir", "gs://bucket/w", *words]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs the gcsfs package" in err, err
    assert list(in_empty_folder.iterdir()) == []


def test_wit_workdir_may_name_a_workspace_on_object_storage(in_empty_folder, monkeypatch, capsys):
    monkeypatch.setenv("WIT_WORKDIR", "memory://wit-workspace-test/env")
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["workspace"] == "memory://wit-workspace-test/env"
    assert list(in_empty_folder.iterdir()) == []


def test_a_run_config_keeps_a_url_workdir():
    config = {"workdir": "s3://b/w", "scrape": {"sources": ["https://example.com/"]}}
    assert config_from_dict(config, "dag").workdir == "s3://b/w"


def test_plain_paths_and_file_urls_are_local_folders(tmp_path):
    assert workdir_path(tmp_path) == tmp_path
    assert workdir_path(f"file://{tmp_path}/w") == tmp_path / "w"
    assert Workspace.at(f"file://{tmp_path}").root == tmp_path
    assert Workspace.at(tmp_path).remote is None

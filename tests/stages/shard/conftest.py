"""Fixtures of the shard tests: a filtered test-web workspace and shards written from it."""

import shutil
from pathlib import Path

import pytest

from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.filter import DecideOptions, ScoreOptions, filter_stage
from wit_pipeline.stages.shard import write_shards

SAMPLES_PER_SHARD = 5
"""Small shards, so the ~27 kept samples of the test web make several (and a short last one)."""


@pytest.fixture(scope="session")
def filtered_testweb(downloaded_testweb, tmp_path_factory) -> Path:
    """A copy of the downloaded test web with decisions.parquet (no CLIP), read-only: tests
    copy it with `filtered_workspace`."""
    workspace = Workspace(tmp_path_factory.mktemp("filtered") / "w")
    shutil.copytree(downloaded_testweb, workspace.root)
    filter_stage(workspace, ScoreOptions(clip=None, workers=0, progress=False), DecideOptions())
    return workspace.root


@pytest.fixture
def filtered_workspace(filtered_testweb, tmp_path) -> Workspace:
    """A private copy of the filtered test-web workspace, without shards."""
    shutil.copytree(filtered_testweb, tmp_path / "w")
    return Workspace(tmp_path / "w")


@pytest.fixture(scope="session")
def sharded_workspace(filtered_testweb, tmp_path_factory) -> Workspace:
    """A copy of the filtered workspace with shards written (seed 0), read-only for tests."""
    workspace = Workspace(tmp_path_factory.mktemp("sharded") / "w")
    shutil.copytree(filtered_testweb, workspace.root)
    write_shards(workspace, samples_per_shard=SAMPLES_PER_SHARD, seed=0)
    return workspace

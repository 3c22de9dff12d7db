"""Fixtures of the shard tests: a filtered test-web workspace and shards written from it."""

import shutil

import pytest

from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.shard import write_shards

SAMPLES_PER_SHARD = 5
"""Small shards, so the ~27 kept samples of the test web make several (and a short last one)."""


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

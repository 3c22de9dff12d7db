"""Fixtures of the filter tests: a private copy of the downloaded test-web workspace."""

import shutil

import pytest

from wit_pipeline.core.workspace import Workspace


@pytest.fixture
def workspace_copy(downloaded_testweb, tmp_path) -> Workspace:
    """A private copy of the downloaded test web workspace."""
    shutil.copytree(downloaded_testweb, tmp_path / "w")
    return Workspace(tmp_path / "w")

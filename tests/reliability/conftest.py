"""Options and fixtures of the reliability tests: kill points, hostile inputs.

`--kill-points N` (declared in tests/conftest.py) sets how many seeded SIGKILLs each stage takes
in the kill harness (default 3 for CI; `pytest tests/reliability --kill-points 50` by hand).
"""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def kill_points(request: pytest.FixtureRequest) -> int:
    """How many times the harness kills each stage."""
    return request.config.getoption("kill_points")


@pytest.fixture(scope="session")
def kill_seed(request: pytest.FixtureRequest) -> int:
    """The seed of the kill moments."""
    return request.config.getoption("kill_seed")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the workspace under test: hostile input must write nothing here."""
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder

"""Fixtures of the scrape tests: the real Common Crawl WARC in ../shared/realdata/."""

from pathlib import Path

import pytest

REALDATA = Path(__file__).resolve().parents[4] / "shared" / "realdata"


@pytest.fixture(scope="session")
def realdata_warc() -> Path:
    """The real Common Crawl WARC of one Wikipedia page (read in place, never copied)."""
    path = REALDATA / "whirlwind.warc.gz"
    if not path.is_file():
        pytest.skip(f"real Common Crawl WARC not found at {path} (shared/realdata is absent)")
    return path

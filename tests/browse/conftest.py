"""Fixtures of the browse tests: the test web taken through scrape, filter (a tiny CLIP, image
embeddings saved) and shard, and an open Index over it."""

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from wit_pipeline.browse import Index
from wit_pipeline.browse.server import BrowseServer
from wit_pipeline.cli import main
from wit_pipeline.core.workspace import Workspace


def run_cli(workspace: Workspace, *args: str) -> None:
    """Run one wit-pipeline command on `workspace`; it must succeed."""
    assert main(["--workdir", str(workspace.root), "-q", *args]) == 0, args


def filter_args(model: Path) -> list[str]:
    """The filter with a local model on the CPU, every sample scored, embeddings saved."""
    return ["filter", "--clip-model", f"local-dir:{model}", "--device", "cpu", "--workers", "0",
            "--min-clip-score", "0.0", "--save-embeddings"]  # fmt: skip


@pytest.fixture(scope="session")
def browse_workspace(downloaded_testweb, testweb, tiny_clip_dir, tmp_path_factory) -> Workspace:
    """A copy of the downloaded test web, scraped, filtered (captions matched against a short
    entry list too) and sharded: read-only for tests."""
    workspace = Workspace(tmp_path_factory.mktemp("browse") / "w")
    shutil.copytree(downloaded_testweb, workspace.root)
    run_cli(workspace, "scrape", f"{testweb.origin}/index.html", "--rate", "1000",
            "--allow-private-networks")  # fmt: skip
    entries = workspace.root.parent / "entries.txt"
    entries.write_text("star\ncircle\nred\nheart\n")
    run_cli(workspace, *filter_args(tiny_clip_dir), "--entries", str(entries))
    run_cli(workspace, "shard", "--samples-per-shard", "5")
    return workspace


@pytest.fixture(scope="session")
def index(browse_workspace) -> Iterator[Index]:
    """The browse workspace opened once for every test (read-only)."""
    with Index.open(browse_workspace) as opened:
        yield opened


@pytest.fixture(scope="session")
def served(index) -> Iterator[BrowseServer]:
    """The browse page of the test workspace on 127.0.0.1 (a free port), in a thread."""
    server = BrowseServer(index, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)

"""Shared fixtures. Test web: a small deterministic synthetic web, its model and live servers."""

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from tests.workspaces import FAST, write_urls
from wit_pipeline.core.executor import RAY_MULTI_NODE_SWITCH
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.download import InputSpec, download
from wit_pipeline.testweb import SyntheticWeb, WebConfig, WebServer

os.environ.setdefault(RAY_MULTI_NODE_SWITCH, "0")
"""Every Ray a test starts (itself, in a subprocess or a DAG task) listens on 127.0.0.1 only."""

TESTWEB_CONFIG = WebConfig(
    seed=0,
    pages=4,
    images_per_page=8,
    foreign_share=0.25,
    mismatch_share=0.1,
    exact_dup_share=0.07,
    near_dup_share=0.13,
    too_small_share=0.06,
    extreme_aspect_share=0.06,
    boilerplate_share=0.13,
    slow_seconds=2.0,
    drip_interval=1.0,
    drip_seconds=3.0,
    retry_after=1,
)
"""Four pages with every noise kind present and short fault timings."""


@pytest.fixture(scope="session")
def testweb_config() -> WebConfig:
    """The config of the session's test web."""
    return TESTWEB_CONFIG


@pytest.fixture(scope="session")
def testweb_web(testweb_config: WebConfig) -> SyntheticWeb:
    """The test web's model: plan, routes and (cached) bytes, no server."""
    return SyntheticWeb(testweb_config)


@pytest.fixture(scope="session")
def testweb(testweb_web: SyntheticWeb) -> Iterator[WebServer]:
    """The test web served on 127.0.0.1 for the whole session (stateless faults only)."""
    with WebServer(testweb_web) as server:
        yield server


@pytest.fixture(scope="session")
def testweb_truth(testweb: WebServer, testweb_web: SyntheticWeb) -> list[dict]:
    """The ground truth rows of the session server, URLs under its origin."""
    return testweb_web.ground_truth(testweb.origin).to_pylist()


@pytest.fixture
def fresh_testweb(testweb_web: SyntheticWeb) -> Iterator[WebServer]:
    """A server of its own for one test: fresh rate-limit state, free to stop."""
    with WebServer(testweb_web) as server:
        yield server


@pytest.fixture(scope="session")
def downloaded_testweb(tmp_path_factory, testweb, testweb_truth) -> Path:
    """A workspace whose raw/ holds every URL of the test web (faults included), read-only:
    the filter and shard tests copy it."""
    root = tmp_path_factory.mktemp("downloaded")
    urls = write_urls(root / "urls.parquet", testweb_truth)
    download(Workspace(root / "w"), InputSpec(urls, samples_per_shard=40), FAST)
    return root / "w"


@pytest.fixture(scope="session")
def filtered_testweb(downloaded_testweb, tmp_path_factory) -> Path:
    """A copy of the downloaded test web with decisions.parquet (no CLIP), read-only: tests
    copy it (`filtered_workspace` in tests/stages/shard)."""
    from wit_pipeline.stages.filter import DecideOptions, ScoreOptions, filter_stage

    workspace = Workspace(tmp_path_factory.mktemp("filtered") / "w")
    shutil.copytree(downloaded_testweb, workspace.root)
    filter_stage(workspace, ScoreOptions(clip=None, workers=0, progress=False), DecideOptions())
    return workspace.root


TINY_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory) -> Path:
    """A randomly initialised tiny open_clip model saved as a `local-dir:` folder (config JSON +
    safetensors), the format train_small exports."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("tiny_clip")
    torch.manual_seed(0)
    model = open_clip.CLIP(**TINY_CLIP)
    save_file(model.state_dict(), folder / "open_clip_model.safetensors")
    (folder / "open_clip_config.json").write_text(
        json.dumps(
            {
                "model_cfg": TINY_CLIP,
                "preprocess_cfg": {
                    "mean": [0.48145466, 0.4578275, 0.40821073],
                    "std": [0.26862954, 0.26130258, 0.27577711],
                },
            }
        )
    )
    return folder


def pytest_addoption(parser: pytest.Parser) -> None:
    """Options of the kill harness in tests/reliability, declared here to work from the root."""
    parser.addoption(
        "--kill-points",
        type=int,
        default=3,
        help="SIGKILLs per stage in the kill harness (default: 3)",
    )
    parser.addoption(
        "--kill-seed", type=int, default=0, help="seed of the kill moments (default: 0)"
    )


REAL_PHOTOS = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "real_photos"


@pytest.fixture(scope="session")
def real_photos() -> dict[str, bytes]:
    """The real photographs of benchmarks/data/real_photos (public domain and CC0), by name."""
    return {path.stem: path.read_bytes() for path in sorted(REAL_PHOTOS.glob("*.jpg"))}


@pytest.fixture
def memory_url(tmp_path) -> Iterator[str]:
    """A fresh folder URL on fsspec's in-memory filesystem (process-global, so each test gets
    its own folder, removed afterwards)."""
    fs = fsspec.filesystem("memory")
    url = f"memory://{tmp_path.name}"
    yield url
    if fs.exists(f"/{tmp_path.name}"):
        fs.rm(f"/{tmp_path.name}", recursive=True)

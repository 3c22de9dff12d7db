"""Fixtures of the filter tests: a workspace downloaded from the test web, a tiny CLIP folder."""

import json
import shutil
from pathlib import Path

import pytest

from wit_pipeline.core.workspace import Workspace

TINY_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture
def workspace_copy(downloaded_testweb, tmp_path) -> Workspace:
    """A private copy of the downloaded test web workspace."""
    shutil.copytree(downloaded_testweb, tmp_path / "w")
    return Workspace(tmp_path / "w")


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

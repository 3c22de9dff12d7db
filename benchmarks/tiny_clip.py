"""Save the tiny open_clip model of tests/conftest.py (TINY_CLIP) with random weights as a
`local-dir:` folder, for speed figures of the filter stage without downloadable weights.

    python benchmarks/tiny_clip.py FOLDER
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TINY_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
"""The config of tests/conftest.py TINY_CLIP."""
OPENAI_NORMALISATION = {
    "mean": [0.48145466, 0.4578275, 0.40821073],
    "std": [0.26862954, 0.26130258, 0.27577711],
}


def save_tiny_clip(folder: Path) -> Path:
    """The tiny model with random weights (seed 0) in `folder` (config JSON + safetensors)."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    save_file(open_clip.CLIP(**TINY_CLIP).state_dict(), folder / "open_clip_model.safetensors")
    config = {"model_cfg": TINY_CLIP, "preprocess_cfg": OPENAI_NORMALISATION}
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    return folder


if __name__ == "__main__":
    save_tiny_clip(Path(sys.argv[1]))

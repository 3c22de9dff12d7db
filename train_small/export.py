"""Export a checkpoint as an open_clip `local-dir:` folder (open_clip_config.json +
open_clip_model.safetensors), what `wit-pipeline filter --clip-model local-dir:PATH` loads."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import save_file

from wit_pipeline.core.atomic import atomic_folder

from .checkpoint import load_checkpoint
from .model import PREPROCESS_CFG

CONFIG_NAME = "open_clip_config.json"
WEIGHTS_NAME = "open_clip_model.safetensors"


def export_local_dir(checkpoint: Path | str, folder: Path | str) -> Path:
    """Write the model of `checkpoint` into `folder` (its two files appear atomically)."""
    state = load_checkpoint(checkpoint)
    folder = Path(folder)
    config = {
        "model_cfg": state["model_cfg"],
        "preprocess_cfg": state.get("preprocess_cfg", PREPROCESS_CFG),
        "train_small": {"checkpoint": str(checkpoint), "step": state["step"]},
    }
    weights = {name: tensor.contiguous() for name, tensor in state["state_dict"].items()}
    with atomic_folder(folder, "export") as temp:
        save_file(weights, temp / WEIGHTS_NAME)
        (temp / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    return folder

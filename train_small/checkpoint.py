"""Training checkpoints: everything an exact resume needs, in one atomically written file.

A checkpoint holds the model as open_clip's `state_dict` key (so `open_clip.load_checkpoint`
reads it), its `model_cfg`, the optimiser, scheduler, step, data position and the RNG states
of torch, numpy and Python. It loads with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wit_pipeline.core.atomic import atomic_path

FOLDER = "checkpoints"
KEEP = 2
"""Checkpoints kept per run (older ones are deleted once a newer one is written)."""


def checkpoint_path(out_dir: Path, step: int) -> Path:
    """Where the checkpoint of `step` lives in a run folder."""
    return Path(out_dir) / FOLDER / f"step-{step:07d}.pt"


def checkpoints(out_dir: Path) -> list[Path]:
    """A run folder's checkpoints, oldest first."""
    return sorted((Path(out_dir) / FOLDER).glob("step-*.pt"))


def latest_checkpoint(out_dir: Path) -> Path | None:
    """The newest checkpoint of a run folder, or None."""
    found = checkpoints(out_dir)
    return found[-1] if found else None


def rng_state() -> dict[str, Any]:
    """The global RNG states of torch, numpy and Python as checkpoint-safe values."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
        "python": random.getstate(),
    }


def restore_rng(state: dict[str, Any]) -> None:
    """Put back what `rng_state` saved."""
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(state["python"])


def save_checkpoint(out_dir: Path, step: int, state: dict[str, Any]) -> Path:
    """Write `state` (plus the RNG states) as the checkpoint of `step`; prune older ones."""
    path = checkpoint_path(out_dir, step)
    with atomic_path(path) as temp:
        torch.save({**state, "step": step, "rng": rng_state()}, temp)
    for old in checkpoints(out_dir)[:-KEEP]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: Path | str) -> dict[str, Any]:
    """A checkpoint's contents (tensors on the CPU)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if "state_dict" not in state or "model_cfg" not in state:
        raise ValueError(f"{path}: not a train_small checkpoint (no state_dict/model_cfg)")
    return state

"""Checkpoints and exact resume: a run stopped at a checkpoint and resumed ends bit-identical
to an uninterrupted one (model, optimiser, data position, metrics)."""

import pytest
import torch

from train_small import TrainConfig, train
from train_small.checkpoint import checkpoints, load_checkpoint
from train_small.metrics import read_metrics

from .conftest import TINY

STEPS = 24


def _config(shards, out_dir, **extra) -> TrainConfig:
    values = {**TINY, "steps": STEPS, "checkpoint_every": 8, "workers": 2, **extra}
    return TrainConfig(shards=str(shards), out_dir=out_dir, **values)


def _assert_same_tensors(a, b) -> None:
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same_tensors(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same_tensors(x, y)
    else:
        assert a == b


def test_stopped_and_resumed_run_is_bit_identical_to_an_uninterrupted_one(tiny_shards, tmp_path):
    whole = train(_config(tiny_shards, tmp_path / "whole"))
    stopped = train(_config(tiny_shards, tmp_path / "split", stop_at=13))
    assert stopped.steps == 13 and stopped.checkpoint.name == "step-0000013.pt"
    resumed = train(_config(tiny_shards, tmp_path / "split"))
    assert whole.steps == resumed.steps == STEPS
    a, b = load_checkpoint(whole.checkpoint), load_checkpoint(resumed.checkpoint)
    for name, tensor in a["state_dict"].items():
        assert torch.equal(tensor, b["state_dict"][name]), name
    _assert_same_tensors(a["optimizer"], b["optimizer"])
    assert a["scheduler"] == b["scheduler"]
    assert a["data"] == b["data"] and a["data"]["epoch"] >= 2, "resume crossed epochs"
    whole_rows = read_metrics(whole.metrics)
    resumed_rows = read_metrics(resumed.metrics)
    assert [r["step"] for r in resumed_rows] == list(range(1, STEPS + 1))
    assert [r["loss"] for r in resumed_rows] == [r["loss"] for r in whole_rows]


def test_checkpoints_hold_what_resume_needs_and_old_ones_are_pruned(tiny_shards, tmp_path):
    result = train(_config(tiny_shards, tmp_path / "run", steps=16, stop_at=None))
    names = [p.name for p in checkpoints(tmp_path / "run")]
    assert names == ["step-0000008.pt", "step-0000016.pt"]
    state = load_checkpoint(result.checkpoint)
    assert {"state_dict", "model_cfg", "optimizer", "scheduler", "step", "data", "rng"} <= set(
        state
    )
    assert state["data"]["readers"] == 2 and sum(state["data"]["raw_samples"]) == 16 * 16
    assert set(state["rng"]) == {"torch", "numpy", "python"}
    assert result.loss_curve.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resuming_with_other_settings_is_refused(tiny_shards, tmp_path):
    train(_config(tiny_shards, tmp_path / "run", stop_at=8, lr=2e-3))
    with pytest.raises(ValueError, match=r"lr: 0\.002 there, 0\.001 now"):
        train(_config(tiny_shards, tmp_path / "run", lr=1e-3))

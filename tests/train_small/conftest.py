"""Fixtures of the train_small tests: labelled shard sets drawn by the test web, a tiny model
recipe, and one short training run that the evaluation and export tests share."""

from pathlib import Path

import pytest

from train_small import TrainConfig, TrainResult, train
from wit_pipeline.testweb.evalset import write_labelled_shards

TINY = {
    "image_size": 32,
    "patch_size": 8,
    "vision_width": 32,
    "vision_layers": 1,
    "text_width": 32,
    "text_layers": 1,
    "embed_dim": 32,
    "context_length": 16,
    "batch_size": 16,
    "shuffle_buffer": 20,
    "warmup_steps": 3,
    "progress": False,
}
"""A model of ~1.6M parameters (mostly the token embedding) that trains a step in milliseconds."""

LEARNER = {
    **TINY,
    "vision_width": 64,
    "text_width": 64,
    "embed_dim": 64,
    "batch_size": 64,
    "shuffle_buffer": 200,
    "lr": 3e-3,
    "warmup_steps": 10,
    "steps": 120,
    "checkpoint_every": 60,
    "workers": 2,
}
"""Still tiny, trained long enough to learn the test web's colours (a few seconds)."""


@pytest.fixture(scope="session")
def tiny_shards(tmp_path_factory) -> Path:
    """96 labelled samples in 4 shards (a fifth of the captions foreign)."""
    folder = tmp_path_factory.mktemp("tiny_shards")
    return write_labelled_shards(
        folder, 96, seed=3, image_size=64, samples_per_shard=24, foreign_share=0.2
    )


@pytest.fixture(scope="session")
def learning_shards(tmp_path_factory) -> Path:
    """600 labelled samples in 4 shards, the training data of `trained_run`."""
    folder = tmp_path_factory.mktemp("learning_shards")
    return write_labelled_shards(
        folder, 600, seed=5, image_size=64, samples_per_shard=150, foreign_share=0.1
    )


@pytest.fixture(scope="session")
def eval_shards(tmp_path_factory) -> Path:
    """300 held-out labelled samples (another seed than the training sets)."""
    folder = tmp_path_factory.mktemp("eval_shards")
    return write_labelled_shards(folder, 300, seed=4, image_size=64, samples_per_shard=100)


@pytest.fixture(scope="session")
def trained_run(learning_shards, tmp_path_factory) -> TrainResult:
    """A LEARNER run on `learning_shards`, read-only for the tests that share it."""
    out_dir = tmp_path_factory.mktemp("trained_run")
    return train(TrainConfig(shards=str(learning_shards), out_dir=out_dir, **LEARNER))

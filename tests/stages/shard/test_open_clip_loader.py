"""The shards under open_clip's own training loader (open_clip_train.data.get_data), run in a
subprocess with the webdataset release open_clip pins, sized from sizes.json."""

import json
import math
from collections import Counter
from pathlib import Path

import open_clip
import pyarrow.parquet as pq
import pytest

from tests.open_clip_train_env import WEBDATASET_PIN, run_open_clip_loader

BATCH_SIZE = 4
WORKERS = 2
MODEL = "ViT-B-32"


def shard_pattern(shards_dir: Path, sizes: dict[str, int]) -> str:
    """`DIR/{00000..0000N}.tar` over the shards sizes.json names, as open_clip's CLI takes it."""
    stems = sorted(Path(name).stem for name in sizes)
    return str(shards_dir / f"{{{stems[0]}..{stems[-1]}}}.tar")


@pytest.fixture(scope="module")
def open_clip_run(sharded_workspace, tmp_path_factory) -> tuple[dict, str]:
    """One training epoch and one validation pass of open_clip's loader over the shards."""
    shards = sharded_workspace.shards_dir
    pattern = shard_pattern(shards, json.loads((shards / "sizes.json").read_text()))
    cli = ["--dataset-type", "webdataset", "--train-data", pattern, "--val-data", pattern]
    cli += ["--batch-size", str(BATCH_SIZE), "--workers", str(WORKERS)]
    cli += ["--model", MODEL, "--device", "cpu", "--seed", "0"]
    return run_open_clip_loader(cli, tmp_path_factory.mktemp("open_clip") / "facts.json")


@pytest.fixture(scope="module")
def caption_tokens(sharded_workspace) -> list[tuple[int, ...]]:
    """The manifest's captions as open_clip's tokenizer for MODEL makes them."""
    captions = pq.read_table(sharded_workspace.shards_dir / "manifest.parquet")["caption"]
    tokens = open_clip.get_tokenizer(MODEL)(captions.to_pylist())
    return [tuple(row) for row in tokens.tolist()]


def test_open_clip_train_epoch_is_sized_from_sizes_json(open_clip_run, caption_tokens):
    facts, stderr = open_clip_run
    train = facts["train"]
    assert facts["webdataset"] == WEBDATASET_PIN.split("==")[1]
    # open_clip rounds the epoch up to whole batches, then to whole batches per worker; each
    # worker reads its quota of full batches, rolling over its shards to fill the last ones.
    batches = math.ceil(math.ceil(len(caption_tokens) / BATCH_SIZE) / WORKERS) * WORKERS
    assert (train["num_batches"], train["num_samples"]) == (batches, batches * BATCH_SIZE)
    assert train["image_shapes"] == [[BATCH_SIZE, 3, 224, 224]] * batches
    assert train["text_shapes"] == [[BATCH_SIZE, 77]] * batches
    assert train["image_dtypes"] == ["torch.float32"]
    assert {tuple(row) for row in train["texts"]} <= set(caption_tokens)
    assert "Handling webdataset error" not in stderr


def test_open_clip_validation_pass_reads_every_sample_once(open_clip_run, caption_tokens):
    facts, stderr = open_clip_run
    val = facts["val"]
    assert Counter(tuple(row) for row in val["texts"]) == Counter(caption_tokens)
    assert all(shape[1:] == [3, 224, 224] for shape in val["image_shapes"])
    assert sum(shape[0] for shape in val["image_shapes"]) == len(caption_tokens)
    assert "Handling webdataset error" not in stderr

"""The training stream: decoding, seeded augmentation, readers and the data position."""

import io
import json
import tarfile

import numpy as np
import pytest
from PIL import Image

from train_small.data import (
    DataPosition,
    StreamSpec,
    TrainBatches,
    decode_image,
    names_sides,
    readers_for,
)


def _jpeg(width: int, height: int) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, width // 2, height))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def test_decode_resizes_the_short_side_and_centre_crops():
    pixels = decode_image(_jpeg(160, 80), 32)
    assert pixels.shape == (32, 32, 3) and pixels.dtype == np.uint8
    assert pixels[16, 2, 2] > 150 and pixels[16, 29, 0] > 150, "centre crop keeps both halves"


def test_augmentation_is_seeded_and_changes_pixels():
    data = _jpeg(96, 96)
    first = decode_image(data, 32, np.random.default_rng(7))
    again = decode_image(data, 32, np.random.default_rng(7))
    plain = decode_image(data, 32)
    assert np.array_equal(first, again)
    assert not all(
        np.array_equal(decode_image(data, 32, np.random.default_rng(s)), plain) for s in range(4)
    )


def test_captions_naming_a_side_keep_it_through_augmentation():
    assert names_sides("A blue hexagon on the right") and names_sides("a star on the Left")
    assert not names_sides("a bright star") and not names_sides("copyright notice")
    data = _jpeg(96, 96)  # blue left half, red right half
    kept = [decode_image(data, 32, np.random.default_rng(s), keep_sides=True) for s in range(16)]
    assert all(p[16, 2, 2] > 150 and p[16, 29, 0] > 150 for p in kept), "blue stays left"
    free = [decode_image(data, 32, np.random.default_rng(s)) for s in range(16)]
    assert any(p[16, 2, 0] > 150 for p in free), "without a side word, turns and flips move it"


def test_batches_carry_uint8_images_tokens_and_their_position(tiny_shards):
    spec = StreamSpec(str(tiny_shards), seed=0, batch_size=10, image_size=32, context_length=16)
    batches = iter(TrainBatches(spec, DataPosition(readers=1)))
    batch = next(batches)
    assert batch["images"].shape == (10, 3, 32, 32) and str(batch["images"].dtype) == "torch.uint8"
    assert batch["tokens"].shape == (10, 16)
    assert (batch["reader"], batch["raw_samples"], batch["epoch"]) == (0, 10, 0)


def test_epochs_continue_without_partial_batches(tiny_shards):
    spec = StreamSpec(str(tiny_shards), seed=0, batch_size=40, image_size=32, context_length=16)
    batches = iter(TrainBatches(spec, DataPosition(readers=1)))
    epochs = [next(batches)["epoch"] for _ in range(5)]
    assert epochs == [0, 0, 1, 1, 2], "96 samples per epoch, 40 per batch"


def test_a_position_skips_what_was_consumed(tiny_shards):
    spec = StreamSpec(str(tiny_shards), seed=0, batch_size=8, image_size=32, context_length=16)
    stream = iter(TrainBatches(spec, DataPosition(readers=1)))
    position = DataPosition(readers=1)
    for _ in range(3):
        position.advance(next(stream))
    expected = next(stream)
    resumed = next(iter(TrainBatches(spec, position)))
    assert (resumed["images"] == expected["images"]).all()


def test_readers_are_at_most_the_shards(tiny_shards):
    assert readers_for(str(tiny_shards), 8) == 4
    assert readers_for(str(tiny_shards), 0) == 1


def test_missing_shards_name_the_path(tmp_path):
    with pytest.raises(ValueError, match="no shards found"):
        readers_for(str(tmp_path), 1)


def test_corrupt_image_is_skipped(tmp_path):
    with tarfile.open(tmp_path / "00000.tar", "w") as tar:
        for key, image in (("a", b"not a jpeg"), ("b", _jpeg(40, 40))):
            for name, data in ((f"{key}.jpg", image), (f"{key}.txt", b"a red square")):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            info = tarfile.TarInfo(f"{key}.json")
            meta = json.dumps({}).encode()
            info.size = len(meta)
            tar.addfile(info, io.BytesIO(meta))
    spec = StreamSpec(str(tmp_path), seed=0, batch_size=2, image_size=16, context_length=8)
    batch = next(iter(TrainBatches(spec, DataPosition(readers=1))))
    assert batch["raw_samples"] == 4, "two epochs of (corrupt, good): corrupt ones counted, unused"

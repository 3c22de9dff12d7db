"""Labelled eval shards drawn by the test web: deterministic, keys without dots, labels that
agree with the caption and the pixels."""

import io
import json
import tarfile

import numpy as np
import pytest
from PIL import Image

from wit_pipeline.testweb.evalset import write_labelled_shards
from wit_pipeline.testweb.vocab import COLOURS, SHAPES, noun

ACHROMATIC = ("black", "white", "grey")


def _samples(folder):
    samples: dict[str, dict[str, bytes]] = {}
    for path in sorted(folder.glob("*.tar")):
        with tarfile.open(path) as tar:
            for info in tar:
                key, _, extension = info.name.partition(".")
                samples.setdefault(key, {})[extension] = tar.extractfile(info).read()
    return samples


@pytest.fixture(scope="module")
def evalset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evalset")
    return write_labelled_shards(folder, 60, seed=9, image_size=48, samples_per_shard=25)


def test_shards_hold_every_sample_once_with_sizes(evalset):
    sizes = json.loads((evalset / "sizes.json").read_text())
    assert sizes == {"00000.tar": 25, "00001.tar": 25, "00002.tar": 10}
    samples = _samples(evalset)
    assert len(samples) == 60
    for key, members in samples.items():
        assert "." not in key and set(members) == {"jpg", "txt", "json"}


def test_labels_agree_with_caption_and_pixels(evalset):
    samples = _samples(evalset).values()
    for members in samples:
        meta = json.loads(members["json"])
        shape, colour = meta["labels"]["shape"], meta["labels"]["colour"]
        assert shape in SHAPES and meta["shapes"] == [shape] * len(meta["shapes"])
        assert meta["layout"] in ("single", "group")
        image = np.asarray(Image.open(io.BytesIO(members["jpg"])).convert("RGB"), dtype=int)
        assert image.shape == (48, 48, 3)
        greyscale = np.abs(image - image.mean(axis=2, keepdims=True)).max() <= 8
        if colour is None:
            assert greyscale
        else:
            assert colour in COLOURS
            assert not greyscale or colour in ACHROMATIC
        if meta["lang"] == "en":
            text = members["txt"].decode().lower()
            assert noun(shape, "en").singular in text
    assert len({json.loads(m["json"])["labels"]["shape"] for m in samples}) >= 8


def test_same_arguments_give_the_same_bytes_and_another_seed_other_images(evalset, tmp_path):
    again = write_labelled_shards(tmp_path / "a", 60, seed=9, image_size=48, samples_per_shard=25)
    for name in ("00000.tar", "00002.tar"):
        assert (again / name).read_bytes() == (evalset / name).read_bytes()
    other = write_labelled_shards(tmp_path / "b", 25, seed=10, image_size=48, samples_per_shard=25)
    assert (other / "00000.tar").read_bytes() != (evalset / "00000.tar").read_bytes()


def test_bad_arguments_are_refused_and_nothing_is_written(tmp_path):
    with pytest.raises(ValueError, match="count >= 1"):
        write_labelled_shards(tmp_path / "none", 0, seed=1)
    assert not (tmp_path / "none").exists()

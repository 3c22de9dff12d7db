"""The CLIP preprocessing split between workers (PIL steps, uint8) and the device (scaling,
normalisation) gives exactly open_clip's own preprocessing."""

import numpy as np
import open_clip
import torch
from PIL import Image
from torchvision import transforms

from wit_pipeline.stages.filter.sample_facts import DeviceNormalised


def test_split_preprocess_equals_open_clip_preprocess():
    preprocess = open_clip.image_transform(224, is_train=False)
    split = DeviceNormalised.split(preprocess)
    assert split is not None
    rng = np.random.default_rng(0)
    images = [
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        for h, w in [(300, 260), (64, 512)]
    ]
    expected = torch.stack([preprocess(image) for image in images])
    workers = torch.stack([split(image) for image in images])
    assert workers.dtype == torch.uint8
    assert torch.equal(split.normalise(workers, "cpu"), expected)


def test_preprocessing_without_a_final_normalize_is_not_split():
    assert DeviceNormalised.split(transforms.Compose([transforms.ToTensor()])) is None
    assert DeviceNormalised.split(lambda image: image) is None

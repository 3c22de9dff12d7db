"""The plain CNN tower: registered with timm under its name, built the way open_clip's timm
tower builds it, features or class logits of any batch."""

import open_clip
import pytest
import timm
import torch

from wit_pipeline.scoring.towers import CNN_TOWER, CNN_WIDTHS, PlainCNN


def test_timm_builds_the_tower_by_name_with_or_without_a_classifier():
    trunk = timm.create_model(CNN_TOWER, num_classes=10)
    assert isinstance(trunk, PlainCNN) and trunk.num_features == CNN_WIDTHS[-1]
    assert trunk(torch.rand(3, 3, 64, 64)).shape == (3, 10)
    trunk.reset_classifier(0, global_pool="avg")
    assert trunk(torch.rand(2, 3, 64, 64)).shape == (2, CNN_WIDTHS[-1])
    trunk.reset_classifier(0, global_pool="")
    assert trunk(torch.rand(2, 3, 64, 64)).shape == (2, CNN_WIDTHS[-1], 4, 4)


def test_open_clip_uses_it_as_the_image_tower():
    vision = {"image_size": 64, "timm_model_name": CNN_TOWER, "timm_proj": "linear"}
    text = {"context_length": 8, "vocab_size": 100, "width": 32, "heads": 1, "layers": 1}
    model = open_clip.CLIP(embed_dim=16, vision_cfg=vision, text_cfg=text)
    assert isinstance(model.visual.trunk, PlainCNN)
    assert model.encode_image(torch.rand(2, 3, 64, 64)).shape == (2, 16)


def test_no_pretrained_weights_and_only_average_pooling():
    with pytest.raises(ValueError, match="no pretrained weights"):
        timm.create_model(CNN_TOWER, pretrained=True)
    with pytest.raises(ValueError, match="global_pool"):
        PlainCNN(CNN_WIDTHS, global_pool="max")

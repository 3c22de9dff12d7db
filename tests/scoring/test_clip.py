"""A model's image input side, which bounds how large the score phase decodes a JPEG for it."""

import open_clip

from wit_pipeline.scoring.clip import input_side


def test_input_side_is_the_models_image_size():
    assert input_side(open_clip.create_model("ViT-B-32")) == 224
    assert input_side(object()) == 0

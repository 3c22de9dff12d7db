"""The CLIP preprocessing split between workers (PIL steps, uint8) and the device (scaling,
normalisation) gives exactly open_clip's own preprocessing; JPEGs are hashed from the smallest
DCT-scaled decode that keeps the picture twice pHash's 32x32 input, whatever CLIP decodes."""

import io

import numpy as np
import open_clip
import torch
from PIL import Image, ImageDraw
from torchvision import transforms

from wit_pipeline.scoring.colour_hash import as_words, colour_distance, colour_hash
from wit_pipeline.scoring.phash import hamming, padded_content_box, phash64
from wit_pipeline.scoring.views import picture_views
from wit_pipeline.stages.filter.sample_facts import (
    DeviceNormalised,
    decode,
    hash_scale,
    image_facts,
    image_hashes,
)


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


def _encoded(size: tuple[int, int], fmt: str) -> bytes:
    image = Image.new("RGB", size, "navy")
    draw = ImageDraw.Draw(image)
    draw.ellipse((size[0] // 5, size[1] // 4, size[0] * 3 // 4, size[1] * 4 // 5), fill="gold")
    draw.rectangle((size[0] // 2, 0, size[0] * 5 // 8, size[1] // 3), fill="crimson")
    out = io.BytesIO()
    image.save(out, fmt, quality=90)
    return out.getvalue()


def test_jpeg_hashes_come_from_a_half_decode_close_to_the_full_one():
    decoded = decode(_encoded((256, 256), "JPEG"))
    facts = image_facts(decoded, (None, None))
    assert (facts["width"], facts["height"]) == (256, 256)
    assert hash_scale(decoded, (None, None)) == 2
    assert decode(_encoded((512, 600), "JPEG")).pixels(8).size == (64, 75)
    full = decoded.pixels(1)
    assert hamming(facts["phash"], phash64(full)) <= 4
    colour = colour_distance(as_words(facts["colour_hash"]), as_words(colour_hash(full)))
    assert int(colour[0]) <= 16


def test_letterboxed_picture_keeps_at_least_128_pixels_a_side():
    decoded = decode(_encoded((512, 512), "JPEG"))
    assert hash_scale(decoded, (400, 300)) == 2
    assert hash_scale(decoded, (1000, 200)) == 1
    assert hash_scale(decode(_encoded((1024, 1024), "JPEG")), (None, None)) == 8


def test_png_is_hashed_at_full_size_without_its_padding():
    decoded = decode(_encoded((256, 256), "PNG"))
    assert hash_scale(decoded, (400, 300)) == 1
    box = padded_content_box(256, 256, 400, 300)
    full = decoded.pixels()
    phash, colour, views = image_hashes(decoded, (400, 300))
    assert (phash, colour) == (phash64(full, box), colour_hash(full, box))
    assert views == picture_views(full, box)


def test_hashes_do_not_depend_on_the_clip_decode():
    decoded = decode(_encoded((512, 384), "JPEG"))
    clip_scale = decoded.scale_for(224)
    assert clip_scale == 1 and decoded.scale_for(64) == 4 and decoded.scale_for(0) == 1
    ready = (clip_scale, decoded.pixels(clip_scale))
    assert image_facts(decoded, (None, None), ready) == image_facts(decoded, (None, None))

"""The device path of the CLIP input, run on its CPU twin: the same tensors as the model's PIL
preprocessing to within a grey level, scores within 1e-3 of the CPU path's on real photos,
PNG/WebP and damaged files through the CPU fallback without stopping the batch, and the stage
end to end with --decode-on device (its CPU path decodes a 32 px model's input at a reduced
JPEG scale, hence 0.01 there)."""

import argparse
import io
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from wit_pipeline.cli import main
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.scoring.clip import ClipScorer, ClipSpec
from wit_pipeline.stages.filter import ScoreOptions, filter_stage
from wit_pipeline.stages.filter.device_scoring import (
    DeviceInputs,
    TensorSteps,
    decode_on_device,
    parse_devices,
)

GREY_LEVEL = 1 / 255 / 0.26
"""One uint8 grey level in the model's normalised units (its smallest std)."""


def _encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


@pytest.fixture(scope="module")
def vit_b32() -> ClipScorer:
    """ViT-B-32 with random weights on the CPU: the real 224 px preprocessing."""
    return ClipScorer(ClipSpec("ViT-B-32", "random"), "cpu")


@pytest.fixture(scope="module")
def device_inputs(vit_b32) -> DeviceInputs:
    steps = TensorSteps.of(vit_b32.preprocess)
    assert steps is not None and steps.side == 224 and steps.crop == (224, 224)
    return DeviceInputs(steps, vit_b32.preprocess, "cpu")


def _cpu_batch(scorer: ClipScorer, bodies: list[bytes]):
    import torch

    return torch.stack([scorer.preprocess(Image.open(io.BytesIO(body))) for body in bodies])


def test_tensors_match_the_pil_preprocessing(real_photos, device_inputs, vit_b32):
    bodies = list(real_photos.values())
    images, kept, failed = device_inputs.batch(bodies)
    assert kept == list(range(len(bodies))) and not failed and device_inputs.fallbacks == 0
    difference = (images - _cpu_batch(vit_b32, bodies)).abs()
    assert difference.mean() < GREY_LEVEL / 2
    assert difference.max() <= 8 * GREY_LEVEL


def test_scores_equal_the_cpu_paths_within_1e_3(real_photos, device_inputs, vit_b32):
    import torch

    bodies = list(real_photos.values())[:8]
    grey = Image.open(io.BytesIO(bodies[0])).convert("L")
    bodies.append(_encoded(grey, "JPEG", quality=90))
    captions = [f"a photo number {n}" for n in range(len(bodies))]
    device_images, _, _ = device_inputs.batch(bodies)
    ours, ours_image, _ = vit_b32.score(device_images, captions)
    theirs, theirs_image, _ = vit_b32.score(_cpu_batch(vit_b32, bodies), captions)
    assert np.abs(ours - theirs).max() <= 1e-3
    cosine = (torch.from_numpy(ours_image) * torch.from_numpy(theirs_image)).sum(-1)
    assert cosine.min() >= 1 - 1e-3


def test_other_formats_and_damaged_files_fall_back_without_stopping_the_batch(real_photos, vit_b32):
    steps = TensorSteps.of(vit_b32.preprocess)
    inputs = DeviceInputs(steps, vit_b32.preprocess, "cpu")
    photo = next(iter(real_photos.values()))
    picture = Image.open(io.BytesIO(photo))
    bodies = [
        photo,
        _encoded(picture, "PNG"),
        _encoded(picture, "WEBP"),
        b"\xff\xd8\xff\xe0" + b"not a jpeg at all" * 20,
        photo,
    ]
    images, kept, failed = inputs.batch(bodies)
    assert kept == [0, 1, 2, 4] and list(failed) == [3]
    assert failed[3].startswith("decode_error: ")
    assert inputs.fallbacks == 2
    assert images.shape == (4, 3, 224, 224)
    cpu = _cpu_batch(vit_b32, bodies[1:3])
    assert (images[1:3] - cpu).abs().max() == 0
    assert (images[0] - images[3]).abs().max() == 0


def test_a_preprocessing_without_a_tensor_twin_keeps_the_cpu_path():
    from torchvision import transforms

    assert TensorSteps.of(transforms.Compose([transforms.ToTensor()])) is None


def test_devices_and_decode_on():
    assert parse_devices("auto") == []
    assert parse_devices("cuda:0, cuda:1") == ["cuda:0", "cuda:1"]
    assert parse_devices("cpu,cpu") == ["cpu", "cpu"]
    for bad in ("gpu0", "cuda:x", ","):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_devices(bad)
    assert decode_on_device("auto", "cuda:1") and not decode_on_device("auto", "cpu")
    assert decode_on_device("device", "cpu") and not decode_on_device("cpu", "cuda")


def test_a_bad_devices_list_exits_2_naming_it(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--workdir", str(tmp_path), "filter", "--devices", "gpu0"])
    assert exited.value.code == 2
    assert "--devices" in capsys.readouterr().err


def _scores(workspace) -> dict[str, float | None]:
    return {
        row["key"]: row["clip_score"]
        for path in sorted(workspace.scores_dir.glob("[0-9]*.parquet"))
        for row in pq.read_table(path).to_pylist()
    }


def test_stage_on_the_device_path_scores_as_the_cpu_path(workspace_copy, tiny_clip_dir):
    spec = ClipSpec(f"local-dir:{tiny_clip_dir}", None)
    common = {"clip": spec, "device": "cpu", "batch_size": 16, "workers": 0, "progress": False}
    other = Workspace(shutil.copytree(workspace_copy.root, workspace_copy.root.parent / "cpu"))
    filter_stage(other, ScoreOptions(decode_on="cpu", **common), None)
    cpu = _scores(other)
    device_options = ScoreOptions(decode_on="device", save_embeddings=True, **common)
    filter_stage(workspace_copy, device_options, None)
    device = _scores(workspace_copy)
    assert device.keys() == cpu.keys()
    assert [k for k, v in device.items() if v is None] == [k for k, v in cpu.items() if v is None]
    both = [(device[k], cpu[k]) for k in cpu if cpu[k] is not None]
    assert len(both) > 20
    assert max(abs(a - b) for a, b in both) <= 0.01
    saved = [np.load(p) for p in sorted((workspace_copy.scores_dir / "embeddings").glob("*.npz"))]
    keys = [key for npz in saved for key in npz["key"]]
    assert sorted(keys) == sorted(k for k, v in device.items() if v is not None)
    image = np.concatenate([npz["image"] for npz in saved])
    assert image.shape == (len(keys), 32)
    assert np.allclose(np.linalg.norm(image, axis=1), 1, atol=1e-4)

"""Our decode routes before img2dataset's Resizer: the Resizer's exact bytes for every image it
decodes itself (real RGBA PNGs and a real photo included), the same bytes on every call for
TIFFs OpenCV decodes differently each time, and memory bounded by the header's budget."""

import io
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image

from wit_pipeline.stages.download.decode import (
    DEFAULT_MAX_DECODE_BYTES,
    decode_cost,
    decode_route,
    over_budget,
)
from wit_pipeline.stages.download.image import inspect_image
from wit_pipeline.stages.download.unit import (
    SUCCESS,
    Outcome,
    ResizeOptions,
    make_backend,
    make_resizer,
    resize_outcome,
)
from wit_pipeline.testweb import hostile_bodies

SAMPLE_DATA = Path(matplotlib.get_data_path()) / "sample_data"
"""Real pictures shipped with matplotlib: two RGBA PNGs (a logo, a drawn pack) and a photo."""


def _encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def _ours(body: bytes, options: ResizeOptions) -> tuple:
    header = inspect_image(body, "", options.max_pixels)
    exact = make_backend(replace(options, resize_backend="img2dataset"))
    outcome = resize_outcome(Outcome(SUCCESS, image=body, header=header), exact)
    assert outcome.status == SUCCESS, outcome.error_message
    return outcome.image, outcome.width, outcome.height


def _resizer_alone(body: bytes, options: ResizeOptions) -> tuple:
    image, width, height, _, _, error = make_resizer(options)(io.BytesIO(body))
    assert error is None
    return image, width, height


def _gradient(mode: str, size: tuple[int, int] = (300, 200)) -> Image.Image:
    rows = np.linspace(0, 255, size[0] * size[1] * 4).astype(np.uint8).reshape(size[1], size[0], 4)
    return Image.fromarray(rows, "RGBA").convert(mode)


ALPHA_IMAGES = {
    "logo2.png": (SAMPLE_DATA / "logo2.png").read_bytes(),
    "Minduka_Present_Blue_Pack.png": (SAMPLE_DATA / "Minduka_Present_Blue_Pack.png").read_bytes(),
    "rgba.webp": _encoded(_gradient("RGBA"), "WEBP", lossless=True),
    "palette-transparency.png": _encoded(_gradient("P"), "PNG", transparency=3),
    "grey-alpha.png": _encoded(_gradient("LA"), "PNG"),
}


@pytest.mark.parametrize("name", sorted(ALPHA_IMAGES))
@pytest.mark.parametrize("mode", ["border", "keep_ratio", "no"])
def test_alpha_images_get_the_resizers_exact_bytes(name, mode):
    body = ALPHA_IMAGES[name]
    assert decode_route(inspect_image(body, "", 10**8)) == "composite"
    options = ResizeOptions(resize_mode=mode, image_size=128)
    assert _ours(body, options) == _resizer_alone(body, options)


def test_a_real_photo_goes_to_the_resizer_untouched():
    body = (SAMPLE_DATA / "grace_hopper.jpg").read_bytes()
    assert decode_route(inspect_image(body, "", 10**8)) == "opencv"
    assert _ours(body, ResizeOptions()) == _resizer_alone(body, ResizeOptions())


def test_gifs_decode_as_their_first_frame_composited_on_white():
    frame = _gradient("P", (120, 80))
    body = _encoded(frame, "GIF", transparency=5)
    as_png = _encoded(Image.open(io.BytesIO(body)).convert("RGBA"), "PNG")
    assert _ours(body, ResizeOptions()) == _resizer_alone(as_png, ResizeOptions())


def test_an_ordinary_tiff_decodes_as_opencv_decodes_it():
    body = _encoded(_gradient("RGB"), "TIFF")
    assert decode_route(inspect_image(body, "", 10**8)) == "pillow"
    assert _ours(body, ResizeOptions()) == _resizer_alone(body, ResizeOptions())


def test_a_planar_16_bit_tiff_decodes_to_the_same_right_bytes_every_time():
    """OpenCV 4.x reads uninitialised memory for this TIFF: three downloads stored three
    different JPEGs. Through Pillow (libtiff) every call gives the samples' high bytes."""
    body = hostile_bodies.planar_tiff16(seed=3)
    options = ResizeOptions(resize_mode="no", encode_format="png", encode_quality=1)
    results = {_ours(body, options)[0] for _ in range(3)}
    assert len(results) == 1
    decoded = np.asarray(Image.open(io.BytesIO(results.pop())))
    planes = np.random.default_rng(3).integers(0, 65535, (3, 48, 64), dtype="<u2")
    assert (decoded == (planes >> 8).transpose(1, 2, 0)).all()


def test_an_image_over_the_decode_budget_is_refused_from_its_header():
    header = inspect_image(hostile_bodies.palette_bomb_png(), "", 10**8)
    assert decode_cost(header) > DEFAULT_MAX_DECODE_BYTES
    reason = over_budget(header, DEFAULT_MAX_DECODE_BYTES)
    assert reason == (
        "decoding 9000x9000 P with transparency would take about 695 MiB, "
        "over --max-decode-bytes 536,870,912"
    )
    rgb = inspect_image(_encoded(Image.new("RGB", (9000, 9000)), "JPEG"), "", 10**8)
    assert over_budget(rgb, DEFAULT_MAX_DECODE_BYTES) is None


MEASURE = """
import io, json, resource, sys
from wit_pipeline.stages.download.decode import decode_cost
from wit_pipeline.stages.download.image import inspect_image
from wit_pipeline.stages.download.unit import (
    SUCCESS, Outcome, ResizeOptions, make_backend, resize_outcome
)
from wit_pipeline.testweb import hostile_bodies
body = getattr(hostile_bodies, sys.argv[1])(4000)
header = inspect_image(body, "", 10**8)
resizer = make_backend(ResizeOptions())
resize_outcome(Outcome(SUCCESS, image=hostile_bodies.jpeg(), header=None), resizer)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
out = resize_outcome(Outcome(SUCCESS, image=body, header=header), resizer)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"status": out.status, "peak": after - before, "cost": decode_cost(header)}))
"""


@pytest.mark.parametrize("bomb", ["palette_bomb_png", "screen_bomb_gif"])
def test_decoding_stays_within_the_estimate(bomb):
    """A 4000x4000 picture with transparency: img2dataset's float64 compositing alone took
    1.2 GB for it (72 bytes a pixel); ours stays within its estimate (9 bytes a pixel)."""
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, bomb], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    measured = json.loads(run.stdout.splitlines()[-1])
    assert measured["status"] == SUCCESS
    assert measured["peak"] <= 1.15 * measured["cost"] + 48 * 2**20, measured
    assert measured["peak"] < 250 * 2**20, measured

"""The Pillow resize backend against img2dataset's Resizer: the same sizes, refusals and
original sizes for every mode, the same picture to a person on photo-sized real photos, the
Resizer's exact bytes wherever the fast path does not apply (other formats, CMYK, upscaling,
damaged files), and `--resize-backend img2dataset` byte-identical end to end."""

import functools
import http.server
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import webdataset as wds
from PIL import Image

from wit_pipeline.cli import main
from wit_pipeline.stages.download.image import inspect_image
from wit_pipeline.stages.download.resize import Resized
from wit_pipeline.stages.download.unit import ResizeOptions, make_backend, make_resizer

MODES = ["border", "keep_ratio", "keep_ratio_largest", "center_crop"]
PHOTO_SIDES = (1200, 1500, 1800, 2000)
"""Longer sides of the photo-sized copies (real photos, upscaled and re-encoded)."""


def _jpeg(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _gradient(width: int, height: int, mode: str = "RGB") -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    pixels = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=-1).astype(np.uint8)
    return Image.fromarray(pixels, "RGB").convert(mode)


def _both(body: bytes, **settings) -> tuple[Resized, Resized]:
    """(pillow backend's result, img2dataset backend's result) for the same body."""
    header = inspect_image(body, "", 10**9)
    fast = make_backend(ResizeOptions(**settings))(body, header)
    exact = make_backend(ResizeOptions(resize_backend="img2dataset", **settings))(body, header)
    return fast, exact


def _pixels(encoded: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(encoded)), dtype=np.float64)


def _psnr(a: bytes, b: bytes) -> float:
    error = np.mean((_pixels(a) - _pixels(b)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255**2 / error)


@pytest.fixture(scope="module")
def photo_sized(real_photos) -> dict[str, bytes]:
    """Each real photo upscaled to 1200-2000 px on its longer side, as a quality-90 JPEG."""
    out = {}
    for index, (name, body) in enumerate(sorted(real_photos.items())):
        image = Image.open(io.BytesIO(body))
        scale = PHOTO_SIDES[index % len(PHOTO_SIDES)] / max(image.size)
        size = (round(image.width * scale), round(image.height * scale))
        out[name] = _jpeg(image.resize(size, Image.Resampling.BICUBIC))
    return out


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "size", [(1999, 1001), (640, 480), (257, 256), (300, 1200), (1000, 1000), (1500, 40)]
)
def test_sizes_match_the_resizer(mode, size):
    fast, exact = _both(_jpeg(_gradient(*size)), resize_mode=mode)
    assert fast[1:] == exact[1:]
    if exact[5] is None:
        assert Image.open(io.BytesIO(fast[0])).size == (fast[1], fast[2])


@pytest.mark.parametrize(
    ("size", "error"), [((900, 250), "image too small"), ((1600, 400), "aspect ratio too large")]
)
def test_refusals_match_the_resizer(size, error):
    fast, exact = _both(_jpeg(_gradient(*size)), min_image_size=300, max_aspect_ratio=3.0)
    assert fast == exact == (None, None, None, None, None, error)


@pytest.mark.parametrize("mode", ["border", "center_crop", "keep_ratio"])
def test_photo_sized_real_photos_look_the_same(photo_sized, mode):
    psnr = []
    for body in photo_sized.values():
        fast, exact = _both(body, resize_mode=mode)
        assert fast[1:] == exact[1:]
        assert fast[0] != exact[0]
        psnr.append(_psnr(fast[0], exact[0]))
    assert min(psnr) >= 32.0, psnr
    assert np.mean(psnr) >= 40.0, psnr


def test_border_pads_on_white_around_the_centred_picture():
    fast, exact = _both(_jpeg(_gradient(1200, 600)), resize_mode="border", image_size=256)
    pixels, reference = _pixels(fast[0]), _pixels(exact[0])
    assert pixels.shape == reference.shape == (256, 256, 3)
    assert pixels[:60].min() >= 250 and pixels[-60:].min() >= 250
    assert np.abs(pixels[70:186] - reference[70:186]).mean() < 2.0


def test_a_grey_jpeg_stays_grey():
    fast, exact = _both(_jpeg(_gradient(1600, 1200, "L")))
    assert Image.open(io.BytesIO(fast[0])).mode == "L"
    assert fast[1:] == exact[1:] and _psnr(fast[0], exact[0]) >= 40.0


def _encoded(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


FALLBACKS = {
    "png": (lambda: _encoded(_gradient(1200, 900), "PNG"), {}, None),
    "webp": (lambda: _encoded(_gradient(1200, 900), "WEBP"), {}, None),
    "cmyk-jpeg": (lambda: _jpeg(_gradient(1200, 900, "CMYK")), {}, None),
    "upscaled": (lambda: _jpeg(_gradient(200, 150)), {}, None),
    "not-resized": (lambda: _jpeg(_gradient(1200, 900)), {"resize_mode": "no"}, None),
    "only-if-bigger": (lambda: _jpeg(_gradient(200, 150)), {"resize_only_if_bigger": True}, None),
    "truncated": (lambda: _jpeg(_gradient(1200, 900))[:20_000], {}, "Image decoding error"),
}
"""Bodies and settings the fast path leaves to the Resizer, and the Resizer's error for each."""


@pytest.mark.parametrize("name", sorted(FALLBACKS))
def test_where_the_fast_path_does_not_apply_the_resizers_bytes_come_out(name):
    make, settings, error = FALLBACKS[name]
    fast, exact = _both(make(), **settings)
    assert fast == exact
    assert fast[5] == error and (fast[0] is None) == (error is not None)


def test_the_img2dataset_backend_is_the_resizer_byte_for_byte(photo_sized):
    options = ResizeOptions(resize_backend="img2dataset")
    backend, resizer = make_backend(options), make_resizer(options)
    for body in list(photo_sized.values())[:4]:
        header = inspect_image(body, "", 10**9)
        assert backend(body, header) == resizer(io.BytesIO(body))


@pytest.fixture(scope="module")
def photo_server(photo_sized, tmp_path_factory) -> Iterator[str]:
    """A loopback HTTP server of the photo-sized JPEGs; yields its origin."""
    folder = tmp_path_factory.mktemp("photos")
    for name, body in photo_sized.items():
        (folder / f"{name}.jpg").write_bytes(body)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _download(tmp_path: Path, origin: str, names: list[str], *flags: str) -> dict[str, bytes]:
    """Download the named photos with `flags`; their stored JPEGs by URL."""
    tmp_path.mkdir()
    urls = tmp_path / "urls.parquet"
    table = pa.table({"url": [f"{origin}/{name}.jpg" for name in names], "caption": names})
    pq.write_table(table, urls)
    workdir = tmp_path / "w"
    common = ["--processes", "1", "--allow-private-networks", "--ignore-robots", "-q"]
    assert main(["--workdir", str(workdir), "download", str(urls), *common, *flags]) == 0
    stored = wds.WebDataset(sorted(str(p) for p in (workdir / "raw").glob("*.tar")))
    return {json.loads(sample["json"])["url"]: sample["jpg"] for sample in stored}


def test_download_stores_the_resizers_bytes_with_the_img2dataset_flag(
    tmp_path, photo_server, photo_sized
):
    names = sorted(photo_sized)[:5]
    exact = _download(tmp_path / "exact", photo_server, names, "--resize-backend", "img2dataset")
    fast = _download(tmp_path / "fast", photo_server, names)
    resizer = make_resizer(ResizeOptions())
    assert len(exact) == len(fast) == len(names)
    for url, image in exact.items():
        body = photo_sized[url.rsplit("/", 1)[1].removesuffix(".jpg")]
        assert image == resizer(io.BytesIO(body))[0]
        assert image != fast[url] and _psnr(fast[url], image) >= 32.0

"""Held-out labelled images drawn by the test web's own scene and drawing code, written as
WebDataset shards: eval sets for train_small, and tiny training sets for tests.

Each sample is `KEY.jpg` (the scene letterboxed onto a white square, as the download stage's
border resize leaves it), `KEY.txt` (a true caption) and `KEY.json` (`{"labels": {"shape",
"colour"}, "shapes", "colours", "layout", "lang"}`; colour is null for greyscale images). Scenes
come from their own seeded streams, so a seed other than the served web's gives images the
web never serves. Pairs of two different shapes are left out: their shape label would be
ambiguous.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from wit_pipeline.core.atomic import atomic_folder

from . import rand
from .captions import caption
from .draw import render
from .scene import Scene, random_scene
from .vocab import LANGUAGES

EVALSET = 7
"""The random stream kind of eval samples (the web's own kinds are 1 to 6)."""
MONOCHROME_SHARE = 0.11
TRANSPARENT_SHARE = 0.12
"""Shares of greyscale and transparent images, about those the web serves."""
_RATIOS = (1.0, 1.0, 1.0, 4 / 3, 3 / 2, 5 / 4, 16 / 9)
_FIXED_MTIME = 0


def _scene(rng: np.random.Generator, width: int, height: int) -> Scene:
    """A random scene whose main shape is its only shape (single or group layout)."""
    monochrome = rng.random() < MONOCHROME_SHARE
    transparent = not monochrome and rng.random() < TRANSPARENT_SHARE
    while True:
        scene = random_scene(rng, width, height, transparent, monochrome)
        if scene.layout != "pair":
            return scene


def _letterboxed(scene: Scene, width: int, height: int, size: int) -> Image.Image:
    """The scene drawn at width x height, flattened on white, centred on a white square."""
    drawn = render(scene, width, height)
    if drawn.mode == "RGBA":
        flat = Image.new("RGB", drawn.size, (255, 255, 255))
        flat.paste(drawn, mask=drawn.getchannel("A"))
        drawn = flat
    if scene.monochrome:
        drawn = drawn.convert("L").convert("RGB")
    square = Image.new("RGB", (size, size), (255, 255, 255))
    square.paste(drawn, ((size - width) // 2, (size - height) // 2))
    return square


def labelled_sample(seed: int, index: int, image_size: int, foreign_share: float) -> dict:
    """Sample `index` of the set `seed`: webdataset members (without the key) as bytes."""
    rng = rand.stream(seed, EVALSET, index)
    ratio = rand.pick(rng, _RATIOS)
    long, short = image_size, max(8, round(image_size / ratio))
    width, height = (long, short) if rng.random() < 0.6 else (short, long)
    scene = _scene(rng, width, height)
    lang = "en" if rng.random() >= foreign_share else rand.pick(rng, LANGUAGES[1:])
    text = caption(scene, lang, rng)
    buffer = io.BytesIO()
    _letterboxed(scene, width, height, image_size).save(buffer, "JPEG", quality=90)
    meta = {
        "labels": {
            "shape": scene.main.shape,
            "colour": None if scene.monochrome else scene.main.colour,
        },
        "shapes": [o.shape for o in scene.objects],
        "colours": [o.colour for o in scene.objects],
        "layout": scene.layout,
        "lang": lang,
    }
    return {"jpg": buffer.getvalue(), "txt": text.encode(), "json": json.dumps(meta).encode()}


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), _FIXED_MTIME, 0o644
    tar.addfile(info, io.BytesIO(data))


def write_labelled_shards(
    folder: Path | str,
    count: int,
    seed: int,
    image_size: int = 128,
    samples_per_shard: int = 256,
    foreign_share: float = 0.0,
) -> Path:
    """Write `count` labelled samples as `NNNNN.tar` shards (+ sizes.json) into `folder`;
    the same arguments always give the same bytes. Returns the folder."""
    if count < 1 or samples_per_shard < 1 or image_size < 16:
        raise ValueError(
            f"need count >= 1, samples_per_shard >= 1, image_size >= 16; got {count}, "
            f"{samples_per_shard}, {image_size}"
        )
    folder = Path(folder)
    sizes: dict[str, int] = {}
    with atomic_folder(folder, "evalset") as temp:
        for shard, first in enumerate(range(0, count, samples_per_shard)):
            name = f"{shard:05d}.tar"
            indices = range(first, min(first + samples_per_shard, count))
            with tarfile.open(temp / name, "w", format=tarfile.USTAR_FORMAT) as tar:
                for index in indices:
                    members = labelled_sample(seed, index, image_size, foreign_share)
                    for extension, data in members.items():
                        _add(tar, f"{index:09d}.{extension}", data)
            sizes[name] = len(indices)
        (temp / "sizes.json").write_text(json.dumps(sizes, indent=2) + "\n")
    return folder

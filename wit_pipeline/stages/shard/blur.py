"""Blur boxes (faces, plates) in the images written to the shards: `shard --blur-boxes COLUMN`
reads img2dataset's `bbox_col` format (a list of [x_min, y_min, x_max, y_max], floats in [0, 1]
of the original picture) from each sample's raw metadata, and `--face-detector FILE` adds the
boxes a detector finds (`stages.shard.detect`).

The blur is img2dataset's (after the ImageNet face obfuscation): every box grown by a tenth of
the largest box's diagonal, a Gaussian blur of sigma a tenth of that diagonal, blended in
through the mask blurred the same way. Boxes of the original picture are mapped onto the
stored one through the download's resize mode (`border` letterboxes it, `center_crop` crops
it, the others scale it whole). A blurred image is encoded again as JPEG (quality 95); the
others are copied byte for byte.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

from wit_pipeline.core import storage
from wit_pipeline.core.errors import InputError

Box = tuple[float, float, float, float]
JPEG_QUALITY = 95


@dataclass(frozen=True)
class BlurSpec:
    """What to blur: boxes from a raw metadata column, and/or a detector's (a file)."""

    column: str | None = None
    detector: str | None = None


def parse_boxes(value: Any) -> list[Box]:
    """Boxes from a bbox_col value (a list, or its JSON text; null: none); ValueError if bad."""
    if value is None:
        return []
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    boxes = []
    for box in value:
        if len(box) != 4:
            raise ValueError(f"box {box!r} does not have 4 numbers")
        x0, y0, x1, y1 = (float(v) for v in box)
        if not (0.0 <= x0 <= x1 <= 1.0 and 0.0 <= y0 <= y1 <= 1.0):
            raise ValueError(f"box {box!r} is not x_min <= x_max, y_min <= y_max in [0, 1]")
        boxes.append((x0, y0, x1, y1))
    return boxes


def check_column(raw_dir: Path, shard: str, column: str, keys: list[str]) -> None:
    """InputError naming the first of these samples whose boxes do not parse."""
    import pyarrow.parquet as pq

    path = raw_dir / f"{shard}.parquet"
    if column not in pq.ParquetFile(path).schema_arrow.names:
        raise InputError(
            f"{path}: no column {column!r} for --blur-boxes (download with "
            f"--save-additional-columns {column})"
        )
    table = pq.read_table(path, columns=["key", column])
    wanted = set(keys)
    for key, value in zip(table["key"].to_pylist(), table[column].to_pylist(), strict=True):
        if key in wanted:
            try:
                parse_boxes(value)
            except (ValueError, TypeError) as exc:
                raise InputError(f"{path}: sample {key}: {column}: {exc}") from None


def stored_boxes(
    boxes: list[Box], original: tuple[int | None, int | None], size: tuple[int, int], mode: str
) -> list[Box]:
    """Boxes of the original picture as fractions of the stored image."""
    width, height = size
    ow, oh = original
    if mode not in ("border", "center_crop") or not ow or not oh:
        return boxes
    scale = (min if mode == "border" else max)(width / ow, height / oh)
    cw, ch = ow * scale / width, oh * scale / height
    left, top = (1.0 - cw) / 2, (1.0 - ch) / 2
    return [
        (_unit(left + x0 * cw), _unit(top + y0 * ch), _unit(left + x1 * cw), _unit(top + y1 * ch))
        for x0, y0, x1, y1 in boxes
    ]


def _unit(value: float) -> float:
    """`value` clamped to [0, 1] (a cropped-away part of a box)."""
    return min(1.0, max(0.0, value))


def blur_image(image: Image.Image, boxes: list[Box]) -> Image.Image:
    """The image with every box (fractions of it) blurred as img2dataset blurs."""
    width, height = image.size
    pixels = [(x0 * width, y0 * height, x1 * width, y1 * height) for x0, y0, x1, y1 in boxes]
    diagonal = max(max(x1 - x0, y1 - y0) for x0, y0, x1, y1 in pixels)
    grow = 0.1 * diagonal
    mask = Image.new("L", image.size, 0)
    draw = ImageDraw.Draw(mask)
    for x0, y0, x1, y1 in pixels:
        draw.rectangle((x0 - grow, y0 - grow, x1 + grow, y1 + grow), fill=255)
    radius = max(1.0, 0.1 * diagonal)
    blurred = image.filter(ImageFilter.GaussianBlur(radius))
    return Image.composite(blurred, image, mask.filter(ImageFilter.GaussianBlur(radius)))


def encode(image: Image.Image) -> bytes:
    """JPEG bytes of a blurred image."""
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def resize_mode(raw_dir: Path | str, shard: str) -> str:
    """How the download resized a raw shard (its `_stats.json`; img2dataset's default, border,
    when it does not say)."""
    try:
        stats = json.loads(storage.read_bytes(storage.join(raw_dir, f"{shard}_stats.json")))
        return str(stats.get("resize_mode", "border"))
    except (OSError, ValueError):  # FileNotFoundError included
        return "border"


class Blurrer:
    """Blurs the samples of one shard job: boxes from the metadata column, then the
    detector's, mapped onto each stored image; the detector is loaded once per job."""

    def __init__(self, spec: BlurSpec, raw_dir: Path | str) -> None:
        from wit_pipeline.stages.shard.detect import load_detector

        self.spec, self.raw_dir = spec, raw_dir
        self.detector = load_detector(spec.detector) if spec.detector else None
        self.modes: dict[str, str] = {}

    def __call__(self, jpg: bytes, meta: dict[str, Any], raw_shard: str) -> bytes | None:
        """The blurred image's JPEG bytes, or None when it has nothing to blur."""
        boxes = parse_boxes(meta.get(self.spec.column)) if self.spec.column else []
        if not boxes and self.detector is None:
            return None
        image = Image.open(io.BytesIO(jpg)).convert("RGB")
        if boxes:
            if raw_shard not in self.modes:
                self.modes[raw_shard] = resize_mode(self.raw_dir, raw_shard)
            original = (meta.get("original_width"), meta.get("original_height"))
            boxes = stored_boxes(boxes, original, image.size, self.modes[raw_shard])
        if self.detector is not None:
            boxes += self.detector.boxes(image)
        boxes = [b for b in boxes if b[2] > b[0] and b[3] > b[1]]
        return encode(blur_image(image, boxes)) if boxes else None

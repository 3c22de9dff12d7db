"""Scene to pixels: numpy backgrounds plus anti-aliased shape masks, all deterministic."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from . import rand
from .scene import Background, Scene, SceneObject
from .vocab import COLOURS

_Point = tuple[float, float]


def _regular(corners: int, start: float) -> list[_Point]:
    return [
        (
            math.cos(math.radians(start + 360.0 * k / corners)),
            math.sin(math.radians(start + 360.0 * k / corners)),
        )
        for k in range(corners)
    ]


def _star() -> list[_Point]:
    return [
        (r * math.cos(math.radians(-90 + 36 * k)), r * math.sin(math.radians(-90 + 36 * k)))
        for k, r in ((k, 1.0 if k % 2 == 0 else 0.42) for k in range(10))
    ]


def _cross() -> list[_Point]:
    a = 0.32
    return [
        (-a, -1), (a, -1), (a, -a), (1, -a), (1, a), (a, a),
        (a, 1), (-a, 1), (-a, a), (-1, a), (-1, -a), (-a, -a),
    ]  # fmt: skip


def _heart() -> list[_Point]:
    points = []
    for k in range(72):
        t = 2 * math.pi * k / 72
        x = 16 * math.sin(t) ** 3
        y = -(13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t))
        points.append((x / 17.0, (y + 2.5) / 17.0))
    return points


_POLYGONS: dict[str, list[_Point]] = {
    "square": _regular(4, 45),
    "triangle": _regular(3, -90),
    "hexagon": _regular(6, 0),
    "diamond": [(0.0, -1.0), (0.62, 0.0), (0.0, 1.0), (-0.62, 0.0)],
    "star": _star(),
    "cross": _cross(),
    "heart": _heart(),
}


def _draw_shape(draw: ImageDraw.ImageDraw, obj: SceneObject, centre: float, radius: float) -> None:
    def disc(dx: float, dy: float, r: float, fill: int) -> None:
        cx, cy = centre + dx, centre + dy
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)

    if obj.shape in _POLYGONS:
        turn = math.radians(obj.angle)
        cos, sin = math.cos(turn), math.sin(turn)
        draw.polygon(
            [
                (centre + radius * (x * cos - y * sin), centre + radius * (x * sin + y * cos))
                for x, y in _POLYGONS[obj.shape]
            ],
            fill=255,
        )
        return
    disc(0, 0, radius, 255)
    if obj.shape == "ring":
        disc(0, 0, radius * 0.58, 0)
    elif obj.shape == "crescent":
        turn = math.radians(obj.angle)
        disc(radius * 0.45 * math.cos(turn), radius * 0.45 * math.sin(turn), radius * 0.85, 0)


def _mask(obj: SceneObject, radius: float, half: int) -> np.ndarray:
    scale = 4 if half <= 64 else 2 if half <= 256 else 1
    canvas = Image.new("L", (2 * half * scale, 2 * half * scale), 0)
    _draw_shape(ImageDraw.Draw(canvas), obj, half * scale, radius * scale)
    if scale > 1:
        canvas = canvas.reduce(scale)
    return np.asarray(canvas, dtype=np.float32) / 255.0


def _rgb(name: str) -> np.ndarray:
    return np.array(COLOURS[name], dtype=np.float32)


def _background(bg: Background, width: int, height: int, seed: int) -> np.ndarray:
    if bg.kind in ("plain", "transparent"):
        colour = _rgb(bg.colours[0]) if bg.colours else _rgb("white")
        return np.broadcast_to(colour, (height, width, 3)).copy()
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    turn = math.radians(bg.angle)
    along = xs * math.cos(turn) + ys * math.sin(turn)
    first, second = _rgb(bg.colours[0]), _rgb(bg.colours[1])
    if bg.kind == "gradient":
        t = (along - along.min()) / max(float(along.max() - along.min()), 1.0)
    else:
        period = max(3.0, bg.period * min(width, height))
        if bg.pattern == "stripes":
            t = np.floor(along / period) % 2
        elif bg.pattern == "checks":
            t = (np.floor(xs / period) + np.floor(ys / period)) % 2
        else:
            t = (rand.stream(seed, rand.TEXTURE).random((height, width)) < 0.15).astype(np.float32)
    return first * (1.0 - t[..., None]) + second * t[..., None]


def render(scene: Scene, width: int, height: int) -> Image.Image:
    """The scene as an RGB image, or RGBA when its background is transparent."""
    pixels = _background(scene.background, width, height, scene.texture_seed)
    coverage = np.zeros((height, width), dtype=np.float32)
    short = min(width, height)
    for obj in scene.objects:
        radius = max(obj.radius * short, 1.0)
        half = math.ceil(radius) + 2
        mask = _mask(obj, radius, half)
        left, top = round(obj.x * width) - half, round(obj.y * height) - half
        x0, y0 = max(left, 0), max(top, 0)
        x1, y1 = min(left + 2 * half, width), min(top + 2 * half, height)
        if x0 >= x1 or y0 >= y1:
            continue
        alpha = mask[y0 - top : y1 - top, x0 - left : x1 - left, None]
        region = pixels[y0:y1, x0:x1]
        pixels[y0:y1, x0:x1] = region * (1.0 - alpha) + _rgb(obj.colour) * alpha
        coverage[y0:y1, x0:x1] = np.maximum(coverage[y0:y1, x0:x1], alpha[..., 0])
    rgb = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    if scene.background.kind != "transparent":
        return Image.fromarray(rgb, "RGB")
    alpha = np.clip(np.rint(coverage * 255.0), 0, 255).astype(np.uint8)
    return Image.fromarray(np.dstack([rgb, alpha]), "RGBA")

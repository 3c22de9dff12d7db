"""Views of a picture for near-duplicate search: the hashes that let a copy find its original
whatever the web did to it.

A copy may be re-encoded, resized, brightened (the hashes tolerate that), but also padded,
cropped a little or mirrored, which moves every cell of a hash. So each picture gets several
views, each a pHash and a colour hash of one region in one orientation:

- the whole picture, and the picture without its padding bands (`borders`) when it has some:
  the *index views*, compared with each other within the pHash distance;
- the central part with 4% and 8% cut from each side (of the unpadded picture): the *crop
  views*, compared with index views within a tighter distance, so that a copy cropped by a few
  percent meets the original's matching crop view almost exactly, and with the same crop of
  other pictures, so that a copy whose edges were marked (a watermark or a label in a corner)
  meets the original by its centre;
- every view in a canonical orientation (mirrored when its picture leans left), so that a
  mirrored copy hashes like its original; a view whose picture leans neither way clearly gets
  its mirror too, since an edit could tip it over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from PIL import Image

from wit_pipeline.scoring.borders import padding_trimmed
from wit_pipeline.scoring.colour_hash import hash_thumbnail, thumbnails
from wit_pipeline.scoring.phash import (
    left_right_balance,
    low_frequencies,
    mirrored_frequencies,
    phash_bits,
)
from wit_pipeline.scoring.texture_signature import texture_signature

WHOLE, TRIMMED, CUT_4, CUT_8 = 0, 1, 2, 3
"""Regions of a view (the low bits of its kind)."""

MIRRORED = 4
"""Kind bit: the view is of the mirrored picture."""

TEXTURED = 8
"""Kind bit: the picture has texture (a photograph, not a flat drawing; see MIN_TEXTURE)."""

REGION_NAMES = {WHOLE: "whole", TRIMMED: "unpadded", CUT_4: "4% crop", CUT_8: "8% crop"}
INDEX_REGIONS = (WHOLE, TRIMMED)
CUTS = {CUT_4: 0.04, CUT_8: 0.08}
"""Share cut from each side for each crop region."""
CROP_REGIONS = tuple(CUTS)


def same_crop(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Whether each pair of view kinds is two crops of one region (their edges may differ)."""
    region = first & 3
    return (region == (second & 3)) & np.isin(region, CROP_REGIONS)


BALANCE_MARGIN = 0.15
"""A view whose left-right balance is closer to 0 than this gets both orientations."""

COLOUR_BLUR = 1.0
"""Blur of a view's soft colour thumbnail (in cells): a copy cropped or unpadded a pixel or
two off moves every cell a little, which the sharp thumbnail turns into many changed bits (a
1% crop: 5 of 128 on real photos); blurred, far fewer. Views in the same framing (two whole
pictures, two crops of one region) are compared by their sharp colour hashes (which tell
distinct drawings apart better), every other view pair by the soft ones."""

MIN_TEXTURE = 2.0
"""Mean grey-level step between neighbouring pixels (each step counted up to 16) from which a
picture counts as textured: 98% of real photos, 23% of the test web's drawings. Only textured
pictures get the views beyond the whole one: flat drawings (a shape on a plain background)
are alike by the thousand, and their mirrors, crops and unpadded parts often look like another
drawing. A flat picture keeps the one view it had before (whole, as published)."""

MIN_DETAIL = 2.0
"""Standard deviation of grey levels below which a region is blank: it says nothing of the
picture (every blank region hashes alike), so it makes no view but the whole one."""

FloatBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class View:
    """One region of a picture in one orientation: what the dedupe index compares."""

    phash: int
    colour: bytes
    soft_colour: bytes
    kind: int
    log_aspect: float
    texture: int = 0
    """The picture's texture signature (`texture_signature`; the same for each of its views):
    a pair through a crop view, or with a flat picture, must agree on it."""

    @property
    def textured(self) -> bool:
        """Whether the picture is textured (it then has crop views)."""
        return bool(self.kind & TEXTURED)

    @property
    def region(self) -> int:
        """WHOLE, TRIMMED, CUT_4 or CUT_8."""
        return self.kind & 3

    @property
    def mirrored(self) -> bool:
        """Whether this is the view of the picture's mirror."""
        return bool(self.kind & MIRRORED)


def describe_kind(kind: int) -> str:
    """A view's kind for people: its region, and 'mirrored' where it is."""
    name = REGION_NAMES[kind & 3]
    return f"{name}, mirrored" if kind & MIRRORED else name


def describe_match(first: int, second: int) -> str:
    """What separates two pictures whose views of these kinds matched: 'same framing',
    'padding', 'crop 4%' or 'crop 8%' (several joined by ' + '), 'edges differ' (the same crop
    of both), then ', mirrored' where one is the other's mirror."""
    regions = {first & 3, second & 3}
    if same_crop(np.asarray(first), np.asarray(second)):
        parts = ["edges differ"]
    else:
        parts = [name for region, name in _EDITS.items() if region in regions]
    text = " + ".join(parts) or "same framing"
    return f"{text}, mirrored" if (first ^ second) & MIRRORED else text


_EDITS = {TRIMMED: "padding", CUT_4: "crop 4%", CUT_8: "crop 8%"}


def _inset(box: FloatBox, share: float) -> FloatBox:
    left, top, right, bottom = box
    dx, dy = (right - left) * share, (bottom - top) * share
    return (left + dx, top + dy, right - dx, bottom - dy)


class Picture:
    """An image ready for hashing: converted to RGB and grey once (as images and pixel
    arrays), and each region's pHash input, colour thumbnails and colour hashes made once,
    whichever asks first (the hashes of the picture as published and its views share them)."""

    def __init__(self, image: Image.Image) -> None:
        self.rgb = image if image.mode == "RGB" else image.convert("RGB")
        self.grey = self.rgb.convert("L")
        self.grey_pixels = np.asarray(self.grey)
        self._low: dict[tuple[int, ...], np.ndarray] = {}
        self._thumbnails: dict[FloatBox, list[np.ndarray]] = {}
        self._colours: dict[tuple[FloatBox, bool, bool], bytes] = {}

    @cached_property
    def rgb_pixels(self) -> np.ndarray:
        """The RGB pixels as an array (only the padding search of a textured picture reads
        them, so a flat picture never copies them)."""
        return np.asarray(self.rgb)

    def grey_region(self, box: FloatBox) -> np.ndarray:
        """The grey pixels of `box`, rounded to whole pixels (a view, not a copy)."""
        left, top, right, bottom = (round(v) for v in box)
        return self.grey_pixels[top:bottom, left:right]

    def low(self, box: FloatBox) -> np.ndarray:
        """The pHash's 8x8 low frequencies of `box` (`phash.low_frequencies`)."""
        key = tuple(round(v) for v in box)
        if key not in self._low:
            self._low[key] = low_frequencies(self.grey.crop(key))
        return self._low[key]

    def colour(self, box: FloatBox, soft: bool = False, mirrored: bool = False) -> bytes:
        """The sharp (or soft: blurred) colour hash of `box` (fractions of pixels count), or
        of its mirror."""
        key = (box, soft, mirrored)
        if key not in self._colours:
            if box not in self._thumbnails:
                self._thumbnails[box] = thumbnails(self.rgb, box, (0.0, COLOUR_BLUR))
            self._colours[key] = hash_thumbnail(self._thumbnails[box][soft], mirrored)
        return self._colours[key]


def _region_views(picture: Picture, box: FloatBox, region: int) -> list[View]:
    """The views of one region: its canonical orientation, and the other one when the
    picture's balance is too close to call."""
    if region != WHOLE and float(picture.grey_region(box).astype(np.float32).std()) < MIN_DETAIL:
        return []
    low = picture.low(box)
    balance = left_right_balance(low)
    canonical = balance < 0
    orientations = [canonical]
    if abs(balance) < BALANCE_MARGIN:
        orientations.append(not canonical)
    aspect = math.log(max(box[2] - box[0], 1e-6) / max(box[3] - box[1], 1e-6))
    views = []
    for mirrored in orientations:
        bits = phash_bits(mirrored_frequencies(low) if mirrored else low)
        kind = region | (MIRRORED if mirrored else 0)
        colours = picture.colour(box, False, mirrored), picture.colour(box, True, mirrored)
        views.append(View(bits, *colours, kind, aspect))
    return views


def texture(grey: np.ndarray) -> float:
    """The mean grey-level step between a pixel and its right and lower neighbours in grey
    pixels, each step counted up to 16 (an edge counts no more than a little texture)."""
    pixels = grey.astype(np.int16)
    if pixels.shape[0] < 2 or pixels.shape[1] < 2:
        return 0.0
    steps = np.abs(np.diff(pixels, axis=1))[:-1] + np.abs(np.diff(pixels, axis=0))[:, :-1]
    return float(np.minimum(steps, 16).mean())


def picture_views(
    image: Image.Image | Picture, box: tuple[int, int, int, int] | None = None
) -> list[View]:
    """Every view of the picture in `box` of `image` (the whole image when None). A textured
    picture: the index views first (whole, then unpadded when there is padding), then the crop
    views, each in its canonical orientation. A flat one: the whole picture as published."""
    picture = image if isinstance(image, Picture) else Picture(image)
    whole = box or (0, 0, picture.rgb.width, picture.rgb.height)
    if texture(picture.grey_region(whole)) < MIN_TEXTURE / 2:
        return _published_view(picture, whole)  # flat even if half of it were padding
    trimmed = padding_trimmed(picture.rgb_pixels, whole)
    base = trimmed or whole
    if texture(picture.grey_region(base)) < MIN_TEXTURE:
        return _published_view(picture, whole)
    views = _region_views(picture, whole, WHOLE)
    if trimmed is not None:
        views += _region_views(picture, trimmed, TRIMMED)
    for region, share in CUTS.items():
        views += _region_views(picture, _inset(base, share), region)
    signature = texture_signature(picture.grey_region(base))
    return [replace(view, kind=view.kind | TEXTURED, texture=signature) for view in views]


def published_hashes(
    picture: Picture, box: FloatBox, colour_box: FloatBox | None = None
) -> tuple[int, bytes]:
    """The pHash of `box` and the sharp colour hash of `colour_box` (default: `box`) as
    published, in no canonical orientation."""
    return phash_bits(picture.low(box)), picture.colour(colour_box or box)


def _published_view(picture: Picture, box: FloatBox) -> list[View]:
    """The whole picture as published (no canonical orientation): a flat picture's one view."""
    aspect = math.log(max(box[2] - box[0], 1e-6) / max(box[3] - box[1], 1e-6))
    sharp, soft = picture.colour(box), picture.colour(box, soft=True)
    signature = texture_signature(picture.grey_region(box))
    return [View(phash_bits(picture.low(box)), sharp, soft, WHOLE, aspect, signature)]

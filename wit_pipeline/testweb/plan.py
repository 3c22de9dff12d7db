"""The plan of the synthetic web: which image goes where, with which noise and fault.

Allocation (which slots are duplicates, boilerplate, mismatched, faulty) draws from the plan
stream; everything about one image draws from that image's own stream (see `slots`).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from . import rand
from .config import WebConfig
from .faults import BOMB_SIZE, FAULT_KINDS
from .scene import Background, Scene, SceneObject
from .slots import CAPTION_SOURCES, COVERAGE, draw_caption, draw_image, draw_reference
from .specs import Encoding, ImageSpec, PageSpec, Plan, Variant

NEAR_KINDS = ("reencode", "resize", "crop", "brightness")
PAGE_BOILERPLATE = ("filename_alt", "generic_alt", "empty_alt", "no_alt")
_FILENAME_ALTS = ("IMG_0042.JPG", "DSC_1234.JPG", "IMG_20190611_142233.jpg", "P1010873.JPG")
_GENERIC_ALTS = ("image", "photo", "picture", "click here", "thumbnail")
_TITLES = ("Shapes and colours", "Gallery", "Geometry for kids", "Colourful shapes", "Patterns")
_LOGO = Scene(
    layout="single",
    objects=(SceneObject("star", "yellow", 0.15, 0.5, 0.4, 0.0),),
    background=Background("plain", ("blue",)),
    monochrome=False,
    texture_seed=0,
)


def has_base_href(page: int) -> bool:
    """Whether a content page carries a `<base href>` (every fourth page, from the second)."""
    return page % 4 == 1


def _count(share: float, slots: int) -> int:
    return 0 if share <= 0 else max(1, round(share * slots))


def _categories(
    config: WebConfig, rng: np.random.Generator, slots: int
) -> tuple[list[str], list[int]]:
    order = [int(j) for j in rng.permutation(slots)]
    categories = ["normal"] * slots
    taken = 0
    for name, share in (
        ("boilerplate", config.boilerplate_share),
        ("exact", config.exact_dup_share),
        ("near", config.near_dup_share),
        ("too_small", config.too_small_share),
        ("extreme_aspect", config.extreme_aspect_share),
    ):
        count = min(_count(share, slots), slots - taken)
        for j in order[taken : taken + count]:
            categories[j] = name
        taken += count
    if "normal" not in categories:
        categories = ["normal" if c in ("exact", "near") else c for c in categories]
    return categories, order


def _fresh(
    config: WebConfig,
    image_id: int,
    page: int,
    noise: str,
    forced: tuple[str, str] | None = None,
) -> ImageSpec:
    rng = rand.stream(config.seed, rand.SLOT, image_id)
    encoding, scene = draw_image(rng, config, noise, forced)
    lang, text = draw_caption(rng, config, scene)
    markup, url_form, style = draw_reference(rng, has_base_href(page))
    path = f"/img/{image_id:05d}.{encoding.extension}"
    return ImageSpec(
        id=image_id,
        path=path,
        kind="ok",
        page=page,
        scene=scene,
        encoding=encoding,
        true_caption=text,
        page_caption=text,
        caption_lang=lang,
        caption_source=CAPTION_SOURCES[markup],
        markup=markup,
        url_form=url_form,
        entity_style=style,
        final_path=path,
        noise=noise,
    )


def _boilerplate(spec: ImageSpec, kind: str, rng: np.random.Generator) -> ImageSpec:
    alt = {
        "filename_alt": rand.pick(rng, _FILENAME_ALTS),
        "generic_alt": rand.pick(rng, _GENERIC_ALTS),
    }.get(kind, "")
    return replace(
        spec,
        page_caption=alt,
        caption_lang=None,
        caption_source="none" if kind == "no_alt" else "alt",
        markup="img" if kind == "no_alt" else "img_alt",
        boilerplate=kind,
    )


def _variant(rng: np.random.Generator, source: ImageSpec, kind: str) -> tuple[Encoding, Variant]:
    enc = source.encoding
    if kind == "exact":
        return enc, Variant("exact", source.id)
    if kind == "reencode":
        if enc.fmt == "png":
            mode = "L" if enc.mode == "L" else "RGB"
            return Encoding("jpeg", mode, enc.width, enc.height, 85), Variant(kind, source.id)
        quality = enc.quality - 20 if enc.quality >= 80 else enc.quality + 15
        return replace(enc, quality=quality), Variant(kind, source.id)
    if kind == "resize":
        factor = rand.uniform(rng, 0.5, 0.8)
        width, height = max(8, round(enc.width * factor)), max(8, round(enc.height * factor))
        return replace(enc, width=width, height=height), Variant(kind, source.id, factor=factor)
    if kind == "crop":
        left, top, right, bottom = (
            max(1, round(side * rand.uniform(rng, 0.02, 0.06)))
            for side in (enc.width, enc.height, enc.width, enc.height)
        )
        box = (left, top, enc.width - right, enc.height - bottom)
        size = {"width": box[2] - box[0], "height": box[3] - box[1]}
        return replace(enc, **size), Variant(kind, source.id, box=box)
    low, high = (0.7, 0.85) if rng.random() < 0.5 else (1.15, 1.3)
    return enc, Variant("brightness", source.id, factor=rand.uniform(rng, low, high))


def _duplicate(
    config: WebConfig, image_id: int, page: int, source: ImageSpec, kind: str
) -> ImageSpec:
    rng = rand.stream(config.seed, rand.SLOT, image_id)
    encoding, variant = _variant(rng, source, kind)
    assert source.scene is not None
    lang, text = draw_caption(rng, config, source.scene)
    markup, url_form, style = draw_reference(rng, has_base_href(page))
    path = f"/img/{image_id:05d}.{encoding.extension}"
    return ImageSpec(
        id=image_id,
        path=path,
        kind="ok",
        page=page,
        scene=source.scene,
        encoding=encoding,
        true_caption=text,
        page_caption=text,
        caption_lang=lang,
        caption_source=CAPTION_SOURCES[markup],
        markup=markup,
        url_form=url_form,
        entity_style=style,
        final_path=path,
        dup_kind=kind,
        variant=variant,
    )


def _fault(config: WebConfig, image_id: int, page: int, kind: str) -> ImageSpec:
    spec = _fresh(config, image_id, page, "none")
    encoding = spec.encoding
    if kind == "decompression_bomb":
        encoding = Encoding("png", "1", BOMB_SIZE, BOMB_SIZE, 0)
    extension = {"corrupt_image": "jpg", "html_as_image": "jpg"}.get(kind, encoding.extension)
    name = f"{image_id:05d}.{extension}"
    path = f"/private/{name}" if kind == "robots_disallowed" else f"/fault/{kind}/{name}"
    final = {"redirect_ok": f"/img/{name}", "redirect_loop": None, "connection_reset": None}
    return replace(spec, kind=kind, path=path, encoding=encoding, final_path=final.get(kind, path))


def _site_images(first_id: int) -> list[ImageSpec]:
    common = {
        "kind": "ok",
        "page": None,
        "caption_lang": None,
        "caption_source": "alt",
        "url_form": "root_relative",
        "entity_style": "raw",
    }
    logo = ImageSpec(
        id=first_id,
        path="/static/logo.png",
        scene=_LOGO,
        encoding=Encoding("png", "RGB", 160, 48, 0),
        true_caption="a yellow star on a blue background",
        page_caption="logo",
        markup="in_link",
        final_path="/static/logo.png",
        boilerplate="logo",
        **common,
    )
    spacer = ImageSpec(
        id=first_id + 1,
        path="/static/spacer.gif",
        scene=None,
        encoding=Encoding("gif", "P", 1, 1, 0),
        true_caption="",
        page_caption="",
        markup="img_alt",
        final_path="/static/spacer.gif",
        boilerplate="spacer",
        **common,
    )
    return [logo, spacer]


def _mismatch(
    config: WebConfig, rng: np.random.Generator, images: list[ImageSpec], slots: int
) -> None:
    wanted = _count(config.mismatch_share, slots)
    candidates = [s.id for s in images[:slots] if s.boilerplate == "none"]
    pending: int | None = None
    swapped = 0
    for image_id in (candidates[int(k)] for k in rng.permutation(len(candidates))):
        if swapped >= wanted:
            break
        if pending is None:
            pending = image_id
            continue
        a, b = images[pending], images[image_id]
        assert a.scene is not None and b.scene is not None
        if (a.scene.main.shape, a.scene.main.colour) == (b.scene.main.shape, b.scene.main.colour):
            continue
        images[a.id] = replace(
            a, page_caption=b.page_caption, caption_lang=b.caption_lang, mismatched=True
        )
        images[b.id] = replace(
            b, page_caption=a.page_caption, caption_lang=a.caption_lang, mismatched=True
        )
        swapped += 2
        pending = None


def _pages(config: WebConfig, fault_pages: dict[int, int]) -> list[PageSpec]:
    pages = []
    per_page = config.images_per_page
    for p in range(config.pages):
        rng = rand.stream(config.seed, rand.PAGE, p)
        items = list(range(p * per_page, (p + 1) * per_page))
        items += [image_id for image_id, page in fault_pages.items() if page == p]
        order = [items[int(k)] for k in rng.permutation(len(items))]
        pages.append(
            PageSpec(
                index=p,
                path=f"/pages/page-{p:04d}.html",
                section=p // config.pages_per_section,
                title=f"{rand.pick(rng, _TITLES)}, page {p + 1}",
                base_href=has_base_href(p),
                items=tuple(order),
            )
        )
    return pages


def _content(config: WebConfig, rng: np.random.Generator) -> list[ImageSpec]:
    """The content slots: fresh images, per-page boilerplate, then duplicates of fresh ones."""
    slots = config.pages * config.images_per_page
    categories, order = _categories(config, rng, slots)
    forced = dict(zip((j for j in order if categories[j] == "normal"), COVERAGE, strict=False))
    by_id: dict[int, ImageSpec] = {}
    for k, j in enumerate(j for j, c in enumerate(categories) if c == "boilerplate"):
        spec = _fresh(config, j, j // config.images_per_page, "none")
        kind = PAGE_BOILERPLATE[k % len(PAGE_BOILERPLATE)]
        by_id[j] = _boilerplate(spec, kind, rand.stream(config.seed, rand.SLOT, j))
    for j, category in enumerate(categories):
        if category in ("normal", "too_small", "extreme_aspect"):
            noise = "none" if category == "normal" else category
            by_id[j] = _fresh(config, j, j // config.images_per_page, noise, forced.get(j))
    normal = [j for j, c in enumerate(categories) if c == "normal"]
    near = 0
    for j, category in enumerate(categories):
        if category in ("exact", "near"):
            source = by_id[normal[int(rng.integers(len(normal)))]]
            kind = "exact" if category == "exact" else NEAR_KINDS[near % len(NEAR_KINDS)]
            near += category == "near"
            by_id[j] = _duplicate(config, j, j // config.images_per_page, source, kind)
    sources = sorted({s.variant.source for s in by_id.values() if s.variant is not None})
    groups = {source: group for group, source in enumerate(sources)}
    for j, spec in by_id.items():
        if j in groups:
            by_id[j] = replace(spec, dup_kind="original", dup_group=groups[j])
        elif spec.variant is not None:
            by_id[j] = replace(spec, dup_group=groups[spec.variant.source])
    return [by_id[j] for j in range(slots)]


def build_plan(config: WebConfig) -> Plan:
    """The full plan for `config`; cheap (no pixels), and the same for the same config."""
    rng = rand.stream(config.seed, rand.PLAN)
    slots = config.pages * config.images_per_page
    images = _content(config, rng)
    _mismatch(config, rng, images, slots)
    fault_pages: dict[int, int] = {}
    for k, kind in enumerate(FAULT_KINDS * config.faults_per_kind):
        page = int(rng.integers(config.pages))
        images.append(_fault(config, slots + k, page, kind))
        fault_pages[slots + k] = page
    images += _site_images(len(images))
    return Plan(
        images=tuple(images),
        pages=tuple(_pages(config, fault_pages)),
        sections=math.ceil(config.pages / config.pages_per_section),
    )

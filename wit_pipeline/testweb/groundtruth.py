"""The ground-truth table: one row per image URL, saying what it is and what it should yield."""

from __future__ import annotations

import pyarrow as pa

from .faults import IMAGE_FAULTS, STATUS_FAULTS
from .specs import ImageSpec, Plan

_FIELDS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("image_id", pa.int32(), "stable id of the image slot"),
    ("url", pa.string(), "absolute URL with the serving origin"),
    ("path", pa.string(), "URL path on the server"),
    ("page_url", pa.string(), "content page that shows it; null: shown on every page"),
    ("kind", pa.string(), "ok or the fault kind"),
    ("http_status", pa.int16(), "status of the first answer after redirects; null: none"),
    ("final_path", pa.string(), "path the redirects end at; null: they never end"),
    ("format", pa.string(), "jpeg/png/webp/gif a client can decode; null: no image"),
    ("width", pa.int32(), "decoded (or, for the bomb, declared) width"),
    ("height", pa.int32(), "decoded (or, for the bomb, declared) height"),
    ("mode", pa.string(), "PIL mode of the decoded image"),
    ("true_caption", pa.string(), "a caption that truly describes the image"),
    ("page_caption", pa.string(), "the caption text on the page, entities decoded"),
    ("caption_lang", pa.string(), "language of page_caption; null for boilerplate"),
    ("caption_source", pa.string(), "where page_caption sits: alt, figcaption, title or none"),
    ("markup", pa.string(), "img_alt, img, figure, srcset, data_src, in_link or title"),
    ("url_form", pa.string(), "root_relative, relative, base_href, absolute, protocol_relative"),
    ("shapes", pa.list_(pa.string()), "shape of each drawn object"),
    ("colours", pa.list_(pa.string()), "drawn colour of each object (parallel to shapes)"),
    ("label_shape", pa.string(), "shape of the main object"),
    ("label_colour", pa.string(), "colour of the main object; null when greyscale"),
    ("background", pa.string(), "plain, gradient, texture or transparent"),
    ("dup_group", pa.int32(), "shared by an original and its duplicates; null: unique"),
    ("dup_kind", pa.string(), "none, original, exact, reencode, resize, crop or brightness"),
    ("mismatched", pa.bool_(), "page_caption belongs to another image"),
    ("noise", pa.string(), "none, too_small or extreme_aspect"),
    (
        "boilerplate",
        pa.string(),
        "none, logo, spacer, filename_alt, generic_alt, empty_alt, no_alt",
    ),
)

SCHEMA = pa.schema(
    [pa.field(name, kind, metadata={"description": text}) for name, kind, text in _FIELDS]
)


def _http_status(kind: str) -> int | None:
    if kind in STATUS_FAULTS:
        return STATUS_FAULTS[kind]
    return {"rate_limited": 429, "redirect_loop": None, "connection_reset": None}.get(kind, 200)


def yields_image(kind: str) -> bool:
    """Whether a patient client gets a decodable (or at least header-readable) image."""
    return kind in ("ok", "decompression_bomb") or kind in IMAGE_FAULTS


def _row(spec: ImageSpec, plan: Plan, origin: str) -> dict[str, object]:
    scene, enc = spec.scene, spec.encoding
    image = yields_image(spec.kind)
    return {
        "image_id": spec.id,
        "url": origin + spec.path,
        "path": spec.path,
        "page_url": None if spec.page is None else origin + plan.pages[spec.page].path,
        "kind": spec.kind,
        "http_status": _http_status(spec.kind),
        "final_path": spec.final_path,
        "format": enc.fmt if image else None,
        "width": enc.width if image else None,
        "height": enc.height if image else None,
        "mode": enc.mode if image else None,
        "true_caption": spec.true_caption,
        "page_caption": spec.page_caption,
        "caption_lang": spec.caption_lang,
        "caption_source": spec.caption_source,
        "markup": spec.markup,
        "url_form": spec.url_form,
        "shapes": [o.shape for o in scene.objects] if scene else [],
        "colours": [o.colour for o in scene.objects] if scene else [],
        "label_shape": scene.main.shape if scene else None,
        "label_colour": scene.main.colour if scene and not scene.monochrome else None,
        "background": scene.background.kind if scene else None,
        "dup_group": spec.dup_group,
        "dup_kind": spec.dup_kind,
        "mismatched": spec.mismatched,
        "noise": spec.noise,
        "boilerplate": spec.boilerplate,
    }


def ground_truth_table(plan: Plan, origin: str) -> pa.Table:
    """The ground truth of `plan` with URLs under `origin` (no trailing slash)."""
    return pa.Table.from_pylist([_row(s, plan, origin) for s in plan.images], schema=SCHEMA)

"""SyntheticWeb: the planned web plus lazily rendered, cached bytes for every route."""

from __future__ import annotations

import functools
from collections import Counter
from http import HTTPStatus
from pathlib import Path

import pyarrow as pa

from .config import WebConfig
from .draw import render
from .encode import encode, near_duplicate, spacer
from .faults import ROBOTS_TXT, SOFT_ERROR_PAGE, bomb_png, corrupt_jpeg, error_page
from .groundtruth import ground_truth_table, yields_image
from .pages import render_index, render_page, render_section
from .plan import build_plan
from .routes import Route, build_routes
from .site import write_site


def check_origin(origin: str) -> str:
    """`origin` if it is scheme://host[:port] without a trailing slash, else ValueError."""
    scheme, sep, rest = origin.partition("://")
    if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
        raise ValueError(f"origin must look like http://host:port (no path), got {origin!r}")
    return origin


def _counts(values: list[str | None]) -> dict[str, int]:
    return dict(sorted(Counter(v for v in values if v is not None).items()))


class SyntheticWeb:
    """A deterministic synthetic web of pages and images; cheap to build, renders on demand."""

    def __init__(self, config: WebConfig | None = None) -> None:
        self.config = config or WebConfig()
        self.plan = build_plan(self.config)
        self.routes = build_routes(self.plan)
        self._cached_image = functools.lru_cache(maxsize=2048)(self._render_image)

    def route(self, path: str) -> Route | None:
        """The route answering `path` (no query string), or None for an unknown path."""
        return self.routes.get(path)

    def image_bytes(self, image_id: int) -> bytes:
        """The encoded bytes of one image (the bomb's tiny PNG for it), rendered once, cached."""
        return self._cached_image(image_id)

    def _render_image(self, image_id: int) -> bytes:
        spec = self.plan.images[image_id]
        if spec.kind == "decompression_bomb":
            return bomb_png()
        if spec.variant is not None:
            source = self.image_bytes(spec.variant.source)
            if spec.variant.kind == "exact":
                return source
            return encode(near_duplicate(source, spec.variant, spec.encoding), spec.encoding)
        if spec.scene is None:
            return encode(spacer(), spec.encoding)
        return encode(render(spec.scene, spec.encoding.width, spec.encoding.height), spec.encoding)

    def body(self, route: Route, origin: str) -> bytes:
        """The bytes a route sends (empty when it sends none), URLs written under `origin`."""
        if route.body is None:
            return b""
        source, ref = route.body.source, route.body.ref
        if source == "image":
            return self.image_bytes(ref)
        if source == "page":
            return render_page(self.plan, self.plan.pages[ref], origin).encode()
        if source == "section":
            return render_section(self.plan, ref).encode()
        if source == "index":
            return render_index(self.plan).encode()
        if source == "robots":
            return ROBOTS_TXT.encode()
        if source == "bomb":
            return bomb_png()
        if source == "corrupt":
            return corrupt_jpeg(self.config.seed, ref)
        if source == "error":
            return error_page(ref, HTTPStatus(ref).phrase)
        return SOFT_ERROR_PAGE

    def ground_truth(self, origin: str) -> pa.Table:
        """One row per image URL (see `groundtruth.SCHEMA`), URLs absolute under `origin`."""
        return ground_truth_table(self.plan, check_origin(origin))

    def summary(self) -> dict:
        """JSON-able counts: URLs per kind, format, language, markup and noise."""
        images = self.plan.images
        return {
            "seed": self.config.seed,
            "pages": len(self.plan.pages),
            "sections": self.plan.sections,
            "urls": len(images),
            "kinds": _counts([s.kind for s in images]),
            "formats": _counts([s.encoding.fmt for s in images if yields_image(s.kind)]),
            "languages": _counts([s.caption_lang for s in images]),
            "markup": _counts([s.markup for s in images]),
            "url_forms": _counts([s.url_form for s in images]),
            "noise": {
                "mismatched": sum(s.mismatched for s in images),
                "duplicates": _counts([s.dup_kind for s in images if s.dup_kind != "none"]),
                "too_small": sum(s.noise == "too_small" for s in images),
                "extreme_aspect": sum(s.noise == "extreme_aspect" for s in images),
                "boilerplate": _counts([s.boilerplate for s in images if s.boilerplate != "none"]),
            },
            "config": self.config.as_dict(),
        }

    def describe(self) -> str:
        """A few human lines from `summary()`."""
        s = self.summary()
        noise = s["noise"]

        def listing(counts: dict[str, int]) -> str:
            return ", ".join(f"{name} {count}" for name, count in counts.items())

        return "\n".join(
            [
                f"synthetic web (seed {s['seed']}): {s['pages']} pages in {s['sections']} "
                f"section{'' if s['sections'] == 1 else 's'}, {s['urls']} image URLs",
                f"kinds: {listing(s['kinds'])}",
                f"formats: {listing(s['formats'])}",
                f"caption languages: {listing(s['languages'])}",
                f"noise: {noise['mismatched']} mismatched captions, too small "
                f"{noise['too_small']}, extreme aspect {noise['extreme_aspect']}",
                f"duplicates: {listing(noise['duplicates'])}",
                f"boilerplate: {listing(noise['boilerplate'])}",
            ]
        )

    def write(self, directory: Path, origin: str) -> dict:
        """Write the static site, ground_truth.parquet, faults.json and summary.json."""
        return write_site(self, Path(directory), check_origin(origin))

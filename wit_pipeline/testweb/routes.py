"""The URL table: for every path, which status, headers and body the server answers with.

One table drives both the live server and the static site, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from .faults import STATUS_FAULTS
from .specs import ImageSpec, Plan

CONTENT_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "html": "text/html; charset=utf-8",
    "text": "text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class Body:
    """What to send: `source` names the generator (image, page, section, index, robots, bomb,
    corrupt, error, soft_error) and `ref` picks the instance (image id, page index, status)."""

    source: str
    ref: int = 0


@dataclass(frozen=True)
class Route:
    """How the server answers one path; status 0 means no HTTP answer at all (a reset)."""

    path: str
    kind: str
    status: int
    content_type: str | None = None
    body: Body | None = None
    headers: tuple[tuple[str, str], ...] = ()
    location: str | None = None
    absolute_location: bool = False


def _image_route(spec: ImageSpec, path: str | None = None) -> Route:
    return Route(
        path or spec.path,
        "ok",
        200,
        CONTENT_TYPES[spec.encoding.fmt],
        Body("image", spec.id),
    )


def _fault_routes(spec: ImageSpec) -> list[Route]:
    kind, path = spec.kind, spec.path
    image = Route(path, kind, 200, CONTENT_TYPES[spec.encoding.fmt], Body("image", spec.id))
    if kind in STATUS_FAULTS:
        status = STATUS_FAULTS[kind]
        return [Route(path, kind, status, CONTENT_TYPES["html"], Body("error", status))]
    if kind in ("noai", "noimageai"):
        return [Route(path, kind, 200, image.content_type, image.body, (("X-Robots-Tag", kind),))]
    if kind in ("huge_body", "huge_body_chunked"):
        return [Route(path, kind, 200, CONTENT_TYPES["jpeg"])]
    if kind == "html_as_image":
        return [Route(path, kind, 200, CONTENT_TYPES["html"], Body("soft_error"))]
    if kind == "corrupt_image":
        return [Route(path, kind, 200, CONTENT_TYPES["jpeg"], Body("corrupt", spec.id))]
    if kind == "decompression_bomb":
        return [Route(path, kind, 200, CONTENT_TYPES["png"], Body("bomb"))]
    if kind == "redirect_ok":
        stem, dot, ext = path.rpartition(".")
        hops = [path, f"{stem}-2{dot}{ext}", f"{stem}-3{dot}{ext}", spec.final_path]
        return [
            Route(hops[k], kind, status, location=hops[k + 1], absolute_location=k == 0)
            for k, status in enumerate((301, 302, 307))
        ] + [_image_route(spec, spec.final_path)]
    if kind == "redirect_loop":
        stem, dot, ext = path.rpartition(".")
        other = f"{stem}-b{dot}{ext}"
        return [
            Route(path, kind, 302, location=other),
            Route(other, kind, 302, location=path, absolute_location=True),
        ]
    if kind == "connection_reset":
        return [Route(path, kind, 0)]
    return [image]


def build_routes(plan: Plan) -> dict[str, Route]:
    """Every path the synthetic web answers, mapped to its route."""
    html = CONTENT_TYPES["html"]
    routes = [
        Route("/", "page", 200, html, Body("index")),
        Route("/index.html", "page", 200, html, Body("index")),
        Route("/robots.txt", "page", 200, CONTENT_TYPES["text"], Body("robots")),
    ]
    routes += [
        Route(f"/section-{k}/index.html", "page", 200, html, Body("section", k))
        for k in range(plan.sections)
    ]
    routes += [Route(page.path, "page", 200, html, Body("page", page.index)) for page in plan.pages]
    for spec in plan.images:
        routes += [_image_route(spec)] if spec.kind == "ok" else _fault_routes(spec)
    return {route.path: route for route in routes}

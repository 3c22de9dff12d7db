"""HTML of the synthetic web: index, section and content pages, rendered for one origin.

Absolute and protocol-relative URLs and `<base href>` need the origin, so pages are rendered
when it is known (per request, or when the static site is written).
"""

from __future__ import annotations

import html
import posixpath

from .entities import encode_text
from .specs import ImageSpec, PageSpec, Plan

_FILLER = (
    "Click on a picture to see it in full size.",
    "All pictures on this site were drawn by our volunteers.",
    "Share this picture with your friends!",
    "Posted by admin in Uncategorized.",
    "See more pictures like this in our gallery.",
    "Free to use for school projects.",
)


def image_url(spec: ImageSpec, origin: str) -> str:
    """How a content page writes the URL of `spec`, in the spec's URL form."""
    if spec.url_form == "relative":
        return posixpath.relpath(spec.path, "/pages")
    if spec.url_form == "base_href":
        return posixpath.relpath(spec.path, "/img")
    if spec.url_form == "absolute":
        return origin + spec.path
    if spec.url_form == "protocol_relative":
        return "//" + origin.split("://", 1)[1] + spec.path
    return spec.path


def _item(spec: ImageSpec, origin: str, link: str) -> str:
    url = image_url(spec, origin)
    caption = encode_text(spec.page_caption, spec.entity_style)
    markup = {
        "img_alt": f'<img src="{url}" alt="{caption}">',
        "img": f'<img src="{url}">',
        "figure": f'<figure>\n<img src="{url}">\n<figcaption>{caption}</figcaption>\n</figure>',
        "srcset": (
            f'<img srcset="{url} {spec.encoding.width}w" sizes="(max-width: 600px) 100vw, 50vw"'
            f' alt="{caption}">'
        ),
        "data_src": f'<img class="lazy" src="/static/spacer.gif" data-src="{url}" alt="{caption}">',
        "in_link": f'<a href="{link}"><img src="{url}" alt="{caption}"></a>',
        "title": f'<img src="{url}" title="{caption}">',
    }[spec.markup]
    filler = _FILLER[spec.id % len(_FILLER)]
    return f'<div class="item">\n{markup}\n<p>{filler}</p>\n</div>'


def _document(title: str, body: str, head: str = "") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n{head}</head>\n<body>\n"
        '<header>\n<a href="/index.html"><img src="/static/logo.png" alt="logo" width="160"'
        ' height="48"></a>\n</header>\n'
        f"<main>\n<h1>{html.escape(title)}</h1>\n{body}\n</main>\n"
        '<footer>\n<img src="/static/spacer.gif" alt="" width="1" height="1">\n'
        "<p>&copy; Synthetic Shapes &amp; Co.</p>\n</footer>\n</body>\n</html>\n"
    )


def render_page(plan: Plan, page: PageSpec, origin: str) -> str:
    """One content page with its images, navigation and boilerplate."""
    neighbours = [p for p in (page.index - 1, page.index + 1) if 0 <= p < len(plan.pages)]
    link = plan.pages[neighbours[-1]].path if neighbours else "/index.html"
    items = "\n".join(_item(plan.images[i], origin, link) for i in page.items)
    nav = [
        '<a href="/index.html">Home</a>',
        f'<a href="/section-{page.section}/index.html">Section {page.section + 1}</a>',
    ] + [
        f'<a href="{plan.pages[p].path}">{"Previous" if p < page.index else "Next"}</a>'
        for p in neighbours
    ]
    head = f'<base href="{origin}/img/">\n' if page.base_href else ""
    return _document(page.title, f"<nav>{' | '.join(nav)}</nav>\n{items}", head)


def render_section(plan: Plan, section: int) -> str:
    """A section index linking each of its pages (relative links)."""
    links = "\n".join(
        f'<li><a href="../pages/{posixpath.basename(p.path)}">{html.escape(p.title)}</a></li>'
        for p in plan.pages
        if p.section == section
    )
    return _document(
        f"Section {section + 1}", f'<a href="/index.html">Home</a>\n<ul>\n{links}\n</ul>'
    )


def render_index(plan: Plan) -> str:
    """The home page linking every section."""
    links = "\n".join(
        f'<li><a href="section-{k}/index.html">Section {k + 1}</a></li>'
        for k in range(plan.sections)
    )
    return _document("Synthetic Shapes", f"<ul>\n{links}\n</ul>")

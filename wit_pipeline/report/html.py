"""HTML pieces of the report: escaping, tables, images, sections and the page around them.

Everything is inline (CSS in the head, images as data: URIs), so the page is one file that
opens offline.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

FUNNEL_COLOR = "#7048e8"
"""Colour of the funnel bars, used nowhere else (the browser test finds the bars by it)."""

STYLE = f"""
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1180px;
       padding: 16px 24px; color: #1d2330; background: #fff; }}
h1 {{ font-size: 24px; margin: 8px 0 2px; }}
h2 {{ font-size: 19px; margin: 28px 0 8px; border-bottom: 1px solid #d5dbe5; }}
h3 {{ font-size: 15px; margin: 16px 0 6px; }}
nav a {{ margin-right: 12px; }}
.meta, .note {{ color: #5a6478; }}
.not-run {{ color: #8a5a00; background: #fff6e0; padding: 6px 10px; border-radius: 4px; }}
table {{ border-collapse: collapse; margin: 6px 0 12px; }}
th, td {{ padding: 3px 10px; border-bottom: 1px solid #e4e8ef; text-align: left;
         vertical-align: top; }}
td.num, th.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.bar {{ height: 18px; background: {FUNNEL_COLOR}; min-width: 2px; }}
.bar-cell {{ width: 420px; }}
.losses {{ font-size: 12px; color: #5a6478; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 10px; }}
.card {{ width: 150px; font-size: 12px; border: 1px solid #e4e8ef; border-radius: 4px;
        padding: 6px; overflow-wrap: anywhere; }}
.card img, .dup img {{ display: block; max-width: 112px; max-height: 112px; }}
.noimg {{ width: 112px; height: 60px; background: #f1f3f7; color: #8a93a6; font-size: 11px;
          display: flex; align-items: center; justify-content: center; }}
.dup-group {{ display: flex; gap: 8px; align-items: flex-end; margin: 8px 0;
              padding: 6px; border: 1px solid #e4e8ef; border-radius: 4px; }}
.dup {{ font-size: 11px; text-align: center; }}
.dup.kept {{ outline: 2px solid #2f9e44; }}
img.plot {{ max-width: 100%; }}
"""


@dataclass(frozen=True)
class Section:
    """One section of the report; `ran` is False when its stage has not run yet."""

    id: str
    title: str
    body: str
    ran: bool = True


def esc(value: Any) -> str:
    """`value` as escaped HTML text."""
    return html.escape("" if value is None else str(value))


def number(value: Any) -> str:
    """A count with thousands separators, a float with 4 significant digits."""
    if isinstance(value, bool) or value is None:
        return esc(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return esc(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], css: str = "") -> str:
    """A table; numbers right-aligned."""
    rows = list(rows)
    numeric = [
        bool(rows) and all(isinstance(r[i], int | float) or r[i] is None for r in rows)
        for i in range(len(headers))
    ]
    head = "".join(
        f'<th class="num">{esc(h)}</th>' if numeric[i] else f"<th>{esc(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{number(v)}</td>' if numeric[i] else f"<td>{esc(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    attribute = f' class="{css}"' if css else ""
    return f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def data_uri(data: bytes, mime: str) -> str:
    """`data` as a data: URI, for embedding."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def image(uri: str, alt: str, css: str = "") -> str:
    """An <img> of a data: URI."""
    attribute = f' class="{css}"' if css else ""
    return f'<img{attribute} src="{uri}" alt="{esc(alt)}">'


def not_run(what: str, command: str) -> str:
    """The body of a section whose stage has not run."""
    return f'<p class="not-run">not run yet: {esc(what)}; run <code>{esc(command)}</code></p>'


def render_section(section: Section) -> str:
    """A <section> with its heading."""
    return (
        f'<section id="{section.id}" data-ran="{str(section.ran).lower()}">'
        f"<h2>{esc(section.title)}</h2>{section.body}</section>"
    )


def page(title: str, meta: str, sections: Sequence[Section]) -> str:
    """The whole document."""
    links = "".join(f'<a href="#{s.id}">{esc(s.title)}</a>' for s in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{esc(title)}</h1><p class="meta">{meta}</p><nav>{links}</nav>'
        + "".join(render_section(s) for s in sections)
        + "</body></html>\n"
    )

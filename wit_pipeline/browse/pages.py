"""The browse pages as HTML strings: the sample grid with the search form and filters, one
sample with its scores, reasons and duplicates, the funnel with clickable bars. Every value
from the data is escaped; links to the web are only shown for http(s) URLs; no script."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from wit_pipeline.browse.filters import STEPS, Filters
from wit_pipeline.browse.index import MODES, SearchResult
from wit_pipeline.report.funnel import FunnelStep
from wit_pipeline.report.html import FUNNEL_COLOR, esc, number

STYLE = f"""
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1280px;
       padding: 12px 20px; color: #1d2330; }}
nav a {{ margin-right: 14px; font-weight: 600; }}
form.search {{ display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: end;
              background: #f4f6fa; padding: 10px; border-radius: 6px; margin: 10px 0; }}
form.search label {{ display: flex; flex-direction: column; font-size: 12px; color: #5a6478; }}
form.search input[type=text] {{ width: 260px; }}
form.search input.num {{ width: 70px; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 10px; }}
.card {{ width: 160px; font-size: 12px; border: 1px solid #e4e8ef; border-radius: 4px;
        padding: 6px; overflow-wrap: anywhere; color: inherit; text-decoration: none; }}
.card.dropped {{ background: #fff4f2; }}
.card img, .side img {{ display: block; max-width: 148px; max-height: 148px; }}
.reason {{ font-weight: 600; }}
.kept {{ color: #1b7a3d; }} .drop {{ color: #b3261e; }}
table {{ border-collapse: collapse; }}
th, td {{ padding: 3px 10px; border-bottom: 1px solid #e4e8ef; text-align: left;
         vertical-align: top; }}
.bar {{ height: 18px; background: {FUNNEL_COLOR}; min-width: 2px; display: block; }}
.bar-cell {{ width: 420px; }}
.side {{ display: flex; gap: 14px; align-items: flex-start; }}
.big img {{ max-width: 512px; max-height: 512px; }}
.note {{ color: #5a6478; }}
.error {{ color: #b3261e; }}
"""
PER_PAGE = 48
SHOWN_FIELDS = (
    "key", "shard", "keep", "reason", "why", "detail", "clip_score", "lang", "width", "height",
    "status", "error_message", "duplicate_of", "duplicate_edit", "duplicate_distance",
    "in_shards", "out_shard", "entries",
)  # fmt: skip


def link(path: str, params: dict[str, Any]) -> str:
    """A local URL with its query string (values that are None left out)."""
    query = urlencode({k: v for k, v in params.items() if v is not None and v != ""})
    return f"{path}?{query}" if query else path


def web_link(url: str | None) -> str:
    """An escaped link for an http(s) URL; any other scheme as plain text."""
    if not url:
        return ""
    if url.lower().startswith(("http://", "https://")):
        return f'<a href="{esc(url)}" rel="noreferrer noopener">{esc(url)}</a>'
    return esc(url)


def page(title: str, body: str) -> str:
    """A whole page around `body`."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
        '<nav><a href="/">Samples</a><a href="/funnel">Funnel</a></nav>'
        f"<h1>{esc(title)}</h1>{body}</body></html>"
    )


def _options(name: str, values: Iterable[tuple[str, str]], chosen: str | None) -> str:
    rows = "".join(
        f'<option value="{esc(v)}"{" selected" if v == (chosen or "") else ""}>{esc(label)}'
        "</option>"
        for v, label in values
    )
    return f'<select name="{name}" id="{name}">{rows}</select>'


def _number_input(name: str, label: str, value: Any) -> str:
    shown = "" if value is None else esc(value)
    return (
        f'<label>{label}<input class="num" type="text" name="{name}" id="{name}" '
        f'value="{shown}"></label>'
    )


def search_form(
    query: str, mode: str, filters: Filters, facets: dict[str, list[tuple[str, int]]]
) -> str:
    """The search box and every filter, submitted with GET to the page itself."""
    keep = {True: "kept", False: "dropped", None: ""}[filters.keep]
    choices = {
        name: [("", "any"), *((v, f"{v} ({n:,})") for v, n in facets.get(name, []))]
        for name in ("reason", "lang", "entry")
    }
    fields = [
        f'<label>search<input type="text" name="q" id="q" value="{esc(query)}"></label>',
        f"<label>in{_options('in', [(m, m) for m in MODES], mode)}</label>",
        "<label>decision"
        + _options("keep", [("", "any"), ("kept", "kept"), ("dropped", "dropped")], keep)
        + "</label>",
        f"<label>reason{_options('reason', choices['reason'], filters.reason)}</label>",
        f"<label>language{_options('lang', choices['lang'], filters.lang)}</label>",
        "<label>funnel step"
        + _options("step", [("", "any"), *((s, s) for s in STEPS)], filters.step)
        + "</label>",
    ]
    if facets.get("entry"):
        fields.append(f"<label>entry{_options('entry', choices['entry'], filters.entry)}</label>")
    fields += [
        _number_input("min_side", "side ≥", filters.min_side),
        _number_input("max_side", "side ≤", filters.max_side),
        _number_input("min_score", "CLIP ≥", filters.min_score),
        _number_input("max_score", "CLIP ≤", filters.max_score),
        '<button type="submit" id="go">Search</button>',
    ]
    return f'<form class="search" method="get" action="/">{"".join(fields)}</form>'


def card(result: SearchResult) -> str:
    """One sample in the grid: thumbnail, kept or every reason, score, caption; a link to its
    page."""
    item = result.item
    state = (
        '<span class="reason kept">kept</span>'
        if item["keep"]
        else f'<span class="reason drop">{esc(", ".join(item["why"] or ["dropped"]))}</span>'
    )
    score = "" if result.score is None else f" · {result.match} {result.score:.3f}"
    return (
        f'<a class="card{"" if item["keep"] else " dropped"}" '
        f'href="{esc(link("/sample", {"key": item["key"]}))}" data-key="{esc(item["key"])}" '
        f'data-keep="{str(bool(item["keep"])).lower()}" data-reason="{esc(item["reason"])}">'
        f'<img src="{esc(link("/image", {"key": item["key"]}))}" alt="">'
        f'<div>{state}{esc(score)}</div><div class="caption">{esc(item["caption"])}</div></a>'
    )


def results_page(
    title: str,
    form: str,
    results: list[SearchResult],
    summary: str,
    next_link: str | None,
) -> str:
    """The samples grid under the form, with a summary line and the next page's link."""
    cards = "".join(card(r) for r in results) or '<p class="note">No samples match.</p>'
    more = f'<p><a id="next" href="{esc(next_link)}">next page</a></p>' if next_link else ""
    body = f'{form}<p class="note" id="summary">{esc(summary)}</p><div class="grid">{cards}</div>'
    return page(title, body + more)


def _value(name: str, value: Any) -> str:
    if name == "clip_score" and isinstance(value, float):
        return f"{value:.4f}"
    if name == "why":
        return ", ".join(
            f'<a href="{esc(link("/", {"reason": r}))}">{esc(r)}</a>' for r in value or []
        )
    if name == "entries":
        return ", ".join(
            f'<a href="{esc(link("/", {"entry": e}))}">{esc(e)}</a>' for e in value or []
        )
    if name == "duplicate_of" and value:
        return f'<a class="dup-link" href="{esc(link("/sample", {"key": value}))}">{esc(value)}</a>'
    return esc(value)


def sample_page(
    item: dict[str, Any], duplicates: list[dict[str, Any]], heads: list[dict[str, Any]]
) -> str:
    """One sample: its image, caption, URL, page, every score (the heads' too) and reason, its
    duplicates side by side, and a search for more like it."""
    key = item["key"]
    rows = "".join(
        f'<tr data-field="{name}"><th>{name}</th><td>{_value(name, item[name])}</td></tr>'
        for name in SHOWN_FIELDS
    ) + "".join(
        f'<tr data-head="{esc(h["head"])}"><th>head {esc(h["head"])}</th>'
        f"<td>{number(h['score'])}</td></tr>"
        for h in heads
    )
    head = (
        f'<div class="side"><div class="big"><img id="image" '
        f'src="{esc(link("/image", {"key": key}))}" alt=""></div><div>'
        f'<p id="caption">{esc(item["caption"])}</p>'
        f"<p>image: {web_link(item['url'])}<br>page: {web_link(item['page_url'])}</p>"
        f'<table id="fields">{rows}</table>'
        f'<p><a id="like" href="{esc(link("/", {"like": key}))}">more like this</a></p>'
        "</div></div>"
    )
    if duplicates:
        sides = "".join(
            f'<div class="dup" data-key="{esc(d["key"])}"><a href="'
            f'{esc(link("/sample", {"key": d["key"]}))}"><img src="'
            f'{esc(link("/image", {"key": d["key"]}))}" alt=""></a>'
            f"<div>{esc(d['key'])} · {'kept' if d['keep'] else esc(d['reason'])}</div></div>"
            for d in [item, *duplicates]
        )
        head += f'<h2>Duplicates</h2><div class="side" id="duplicates">{sides}</div>'
    return page(f"Sample {key}", head)


def funnel_page(steps: list[FunnelStep]) -> str:
    """The report's funnel; each bar opens the samples it counts, each loss its samples."""
    largest = max((s.count for s in steps), default=0) or 1
    rows = []
    for step in steps:
        target = link("/", {"step": step.step}) if step.step in STEPS else None
        bar = f'<span class="bar" style="width:{100 * step.count / largest:.2f}%"></span>'
        if target:
            bar = f'<a href="{esc(target)}" data-step="{esc(step.step)}">{bar}</a>'
        losses = ", ".join(
            f'<a href="{esc(link("/", {"reason": r}))}">{esc(r)}</a> {number(n)}'
            for r, n in step.losses
        )
        rows.append(
            f'<tr data-step="{esc(step.step)}" data-count="{step.count}"><td>{esc(step.label)}'
            f'</td><td>{number(step.count)}</td><td class="bar-cell">{bar}</td>'
            f"<td>{losses}</td></tr>"
        )
    body = (
        "<table><thead><tr><th>step</th><th>samples</th><th></th>"
        f"<th>lost before the next step</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return page("Funnel", body)


def error_page(message: str) -> str:
    """A bad request, said in one escaped line."""
    return page("Bad request", f'<p class="error" id="error">{esc(message)}</p>')

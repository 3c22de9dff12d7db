"""Sections about the samples' numbers: CLIP scores and thresholds, image sizes and aspect
ratios, caption lengths and languages."""

from __future__ import annotations

from wit_pipeline.catalog import Catalog
from wit_pipeline.report import plots
from wit_pipeline.report.html import Section, esc, image, not_run, table
from wit_pipeline.report.stats import histogram, sql_string, top_counts

LAION_THRESHOLDS = (0.26, 0.28, 0.30)
"""LAION-2B multilingual, LAION-5B English (ViT-B/32), LAION-400M."""
SCORE_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
TOP_LANGUAGES = 12


def filter_threshold(catalog: Catalog) -> float | None:
    """The CLIP threshold the last filter run used, read back from the detail of a sample it
    dropped for its score ('0.21 < 0.2800'); None when no sample was dropped for it."""
    if not catalog.has("decisions"):
        return None
    text = catalog.scalar(
        "SELECT regexp_extract(detail, '<\\s*(-?[0-9.]+)', 1) FROM decisions "
        "WHERE reason = 'low_clip_score' AND detail LIKE '%<%' LIMIT 1"
    )
    return float(text) if text else None


def _thresholds(catalog: Catalog, used: float | None) -> list[float]:
    quantiles = catalog.scalar(
        f"SELECT quantile_cont(clip_score, {list(SCORE_QUANTILES)}) FROM scores "
        "WHERE clip_score IS NOT NULL"
    )
    values = {*LAION_THRESHOLDS, *(round(q, 4) for q in quantiles or [])}
    if used is not None:
        values.add(used)
    return sorted(values)


def clip_section(catalog: Catalog) -> Section:
    """Histogram per CLIP model with the threshold line, and the kept fraction per threshold."""
    title = "CLIP scores"
    if not catalog.has("scores"):
        return Section("clip", title, not_run("the score phase", "wit-pipeline filter"), ran=False)
    models = catalog.rows(
        "SELECT clip_model AS model, count(*) AS n FROM scores "
        "WHERE clip_score IS NOT NULL GROUP BY clip_model ORDER BY n DESC, model"
    )
    if not models:
        body = '<p class="note">Scored without a CLIP model (--clip-model none): no scores.</p>'
        return Section("clip", title, body)
    used = filter_threshold(catalog)
    histograms = [
        (
            m["model"],
            histogram(catalog, f"scores WHERE clip_model = {sql_string(m['model'])}", "clip_score"),
        )
        for m in models
    ]
    body = image(plots.clip_histograms(histograms, used), "CLIP score histograms", "plot")
    used_text = f"{used:g}" if used is not None else "not known (no sample was dropped for it)"
    body += f'<p class="note">Threshold of the last filter run: {esc(used_text)}.</p>'
    thresholds = _thresholds(catalog, used)
    rows = []
    for threshold in thresholds:
        shares = {
            r["model"]: r["kept"]
            for r in catalog.rows(
                "SELECT clip_model AS model, avg((clip_score >= $t)::DOUBLE) AS kept FROM scores "
                "WHERE clip_score IS NOT NULL GROUP BY clip_model",
                {"t": threshold},
            )
        }
        label = f"{threshold:g}" + (" (used)" if threshold == used else "")
        rows.append([label, *(shares.get(m["model"], 0.0) for m in models)])
    body += "<h3>Kept fraction per threshold</h3>" + table(
        ["threshold", *(f"{m['model'][-40:]} (n={m['n']:,})" for m in models)], rows
    )
    return Section("clip", title, body)


def images_section(catalog: Catalog) -> Section:
    """Distributions of the downloaded images' size (as published) and aspect ratio."""
    title = "Images: size and aspect ratio"
    if not catalog.has("samples"):
        return Section("images", title, not_run("the download", "wit-pipeline download"), ran=False)
    source = "samples WHERE status = 'success' AND original_width > 0 AND original_height > 0"
    width = histogram(catalog, source, "original_width")
    if width is None:
        return Section("images", title, '<p class="note">No image was downloaded.</p>')
    panels = [
        ("width as published", "pixels", width),
        ("height as published", "pixels", histogram(catalog, source, "original_height")),
        (
            "aspect ratio",
            "log2(width / height)",
            histogram(catalog, source, "log2(original_width / original_height)"),
        ),
    ]
    body = image(plots.histogram_panels(panels), "image size and aspect ratio", "plot")
    shapes = catalog.rows(
        "SELECT CASE WHEN original_width > original_height THEN 'landscape' "
        "WHEN original_width < original_height THEN 'portrait' ELSE 'square' END AS shape, "
        "count(*) AS n, median(original_width) AS w, median(original_height) AS h "
        f"FROM {source} GROUP BY shape ORDER BY n DESC"
    )
    body += table(
        ["orientation", "images", "median width", "median height"],
        [[r["shape"], r["n"], r["w"], r["h"]] for r in shapes],
    )
    stored = top_counts(catalog, "samples WHERE status = 'success'", "width || 'x' || height", 5)
    body += "<h3>Stored sizes (after resizing)</h3>" + table(["size", "images"], stored)
    return Section("images", title, body)


def captions_section(catalog: Catalog) -> Section:
    """Caption length in characters and words, and the language breakdown."""
    title = "Captions: length and language"
    if catalog.has("samples"):
        source, origin = "samples WHERE status = 'success'", "downloaded samples"
    elif catalog.has("pairs"):
        source, origin = "pairs", "scraped pairs"
    else:
        return Section(
            "captions",
            title,
            not_run("no pairs and no downloads", "wit-pipeline scrape"),
            ran=False,
        )
    chars = histogram(catalog, source, "length(caption)")
    if chars is None:
        return Section("captions", title, f'<p class="note">No caption in the {origin}.</p>')
    words = histogram(catalog, source, "len(string_split(trim(caption), ' '))")
    panels = [("characters", "caption length", chars), ("words", "caption words", words)]
    body = f'<p class="note">Over the {esc(origin)}.</p>'
    body += image(plots.histogram_panels(panels), "caption lengths", "plot")
    if catalog.has("scores"):
        languages = top_counts(catalog, "scores WHERE error IS NULL", "lang", TOP_LANGUAGES)
        lang_origin = "scored samples (filter's language detection)"
    elif catalog.has("pairs"):
        languages = top_counts(catalog, "pairs", "lang", TOP_LANGUAGES)
        lang_origin = "scraped pairs (scrape's language detection)"
    else:
        languages = []
    if languages:
        body += f'<h3>Languages</h3><p class="note">Over the {esc(lang_origin)}.</p>'
        body += image(
            plots.horizontal_bars(languages, "caption language", "samples"),
            "caption languages",
            "plot",
        )
        body += table(["language", "samples"], languages)
    else:
        body += not_run("language detection", "wit-pipeline filter")
    return Section("captions", title, body)

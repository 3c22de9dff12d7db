"""The report's plots as PNG data: URIs (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from wit_pipeline.report.html import data_uri
from wit_pipeline.report.stats import Histogram

DPI = 90
BAR_COLOR = "#1f6fb5"
LINE_COLOR = "#d9480f"


def _figure_uri(figure) -> str:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI)
    plt.close(figure)
    return data_uri(buffer.getvalue(), "image/png")


def _bars(axes, histogram: Histogram) -> None:
    widths = [b - a for a, b in zip(histogram.edges, histogram.edges[1:], strict=False)]
    axes.bar(
        histogram.edges[:-1],
        histogram.counts,
        width=widths,
        align="edge",
        color=BAR_COLOR,
        alpha=0.75,
    )


def clip_histograms(models: Sequence[tuple[str, Histogram]], threshold: float | None) -> str:
    """One histogram per CLIP model with the threshold line and, on a second axis, the share
    of samples a threshold at each score would keep."""
    figure, axes_list = plt.subplots(len(models), 1, figsize=(8, 2.8 * len(models)), squeeze=False)
    for axes, (model, histogram) in zip(axes_list[:, 0], models, strict=True):
        _bars(axes, histogram)
        axes.set_title(model if len(model) < 70 else "..." + model[-67:], fontsize=9)
        axes.set_xlabel("CLIP score (cosine)")
        axes.set_ylabel("samples")
        kept = axes.twinx()
        total, above = histogram.total, histogram.total
        fractions = []
        for count in histogram.counts:
            fractions.append(above / total if total else 0.0)
            above -= count
        kept.plot(histogram.edges[:-1], fractions, color=LINE_COLOR, linewidth=1.5)
        kept.set_ylim(0, 1.05)
        kept.set_ylabel("kept fraction", color=LINE_COLOR)
        if threshold is not None:
            axes.axvline(threshold, color="black", linestyle="--", linewidth=1.2)
            axes.annotate(
                f"threshold {threshold:g}",
                (threshold, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(4, -12),
                textcoords="offset points",
                fontsize=8,
            )
    return _figure_uri(figure)


def histogram_panels(panels: Sequence[tuple[str, str, Histogram]], log_count: bool = False) -> str:
    """Histograms side by side: (title, x label, histogram) each."""
    figure, axes_list = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3), squeeze=False)
    for axes, (title, xlabel, histogram) in zip(axes_list[0], panels, strict=True):
        _bars(axes, histogram)
        axes.set_title(title, fontsize=10)
        axes.set_xlabel(xlabel)
        axes.set_ylabel("count")
        if log_count:
            axes.set_yscale("log")
    return _figure_uri(figure)


def horizontal_bars(items: Sequence[tuple[str, int]], title: str, xlabel: str) -> str:
    """A horizontal bar chart, largest first at the top."""
    labels = [str(label) for label, _ in items][::-1]
    counts = [count for _, count in items][::-1]
    figure, axes = plt.subplots(figsize=(7, 0.3 * len(items) + 1.2))
    axes.barh(labels, counts, color=BAR_COLOR)
    axes.set_title(title, fontsize=10)
    axes.set_xlabel(xlabel)
    axes.tick_params(axis="y", labelsize=8)
    return _figure_uri(figure)


def loss_curves(curves: Sequence[tuple[str, list[float], list[float]]]) -> str:
    """Training loss against step, one line per run: (name, steps, losses) each."""
    figure, axes = plt.subplots(figsize=(8, 3.2))
    for name, steps, losses in curves:
        axes.plot(steps, losses, linewidth=1.2, label=name)
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.set_title("training loss", fontsize=10)
    if len(curves) > 1:
        axes.legend(fontsize=8)
    return _figure_uri(figure)


def entry_counts(before: Sequence[int], after: Sequence[int], cap: int | None) -> str:
    """Samples per entry, entries ranked by their count before balancing, before and after
    it, log-log (MetaCLIP's figure: the head flattened at the cap, the tail untouched)."""
    figure, axes = plt.subplots(figsize=(8, 3.2))
    ranks = range(1, len(before) + 1)
    axes.plot(ranks, before, color=BAR_COLOR, linewidth=1.2, label="before balancing")
    axes.plot(ranks, after, color=LINE_COLOR, linewidth=1.2, label="after balancing")
    if cap is not None:
        axes.axhline(cap, color="grey", linestyle="--", linewidth=0.8, label=f"cap {cap:,}")
    axes.set_xscale("log")
    axes.set_yscale("symlog", linthresh=1)
    axes.set_xlabel("entry rank (by count before balancing)")
    axes.set_ylabel("samples")
    axes.set_title("samples per entry", fontsize=10)
    axes.legend(fontsize=8)
    return _figure_uri(figure)

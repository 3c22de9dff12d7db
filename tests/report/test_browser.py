"""The report rendered by a real headless Chromium: not blank, and the funnel bars on screen
with widths in proportion to the funnel counts. Needs Debian's `chromium` (.ci/run installs
it); without it the test fails and says so."""

import shutil
import subprocess

import numpy as np
from PIL import Image

from tests.report.page import read_page
from wit_pipeline.report.html import FUNNEL_COLOR

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
WINDOW = (1280, 2400)
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium() -> str:
    """The Chromium executable on PATH."""
    found = next((path for path in map(shutil.which, BROWSERS) if path), None)
    assert found, "headless Chromium not found: apt-get install chromium (.ci/run installs it)"
    return found


def screenshot(html, png, profile) -> np.ndarray:
    """The page as Chromium draws it, as an RGB array."""
    subprocess.run(
        [
            chromium(),
            *HEADLESS_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            f"--screenshot={png}",
            html.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with Image.open(png) as image:
        return np.asarray(image.convert("RGB"))


def bar_widths(pixels: np.ndarray, color: str) -> list[int]:
    """Widths of the horizontal bars of `color`, top to bottom (a bar: consecutive rows that
    hold the colour)."""
    rgb = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)])
    mask = (np.abs(pixels.astype(int) - rgb) <= 8).all(axis=2)
    per_row = mask.sum(axis=1)
    widths, current = [], 0
    for count in per_row:
        if count:
            current = max(current, int(count))
        elif current:
            widths.append(current)
            current = 0
    return widths + ([current] if current else [])


def test_report_renders_with_the_funnel(reported_workspace, report_html, tmp_path):
    pixels = screenshot(
        reported_workspace.report_dir / "index.html", tmp_path / "report.png", tmp_path / "p"
    )
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    not_white = (pixels < 235).any(axis=2).mean()
    packed = pixels.astype(np.int32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.int32)
    colours = len(np.unique(packed))
    assert not_white > 0.05 and colours > 100, (not_white, colours)

    counts = list(read_page(report_html).funnel.values())
    widths = bar_widths(pixels, FUNNEL_COLOR)
    assert len(widths) == len(counts), (widths, counts)
    for width, count in zip(widths, counts, strict=True):
        assert abs(width / max(widths) - count / max(counts)) < 0.02, (widths, counts)

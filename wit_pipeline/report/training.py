"""The training section: loss curves and zero-shot results, read tolerantly.

What it looks for (each optional; a run is a folder under `W/train/`, or `W/train/` itself):
- `metrics.jsonl`: JSON lines; a line with a numeric `step` and `loss` (or `train_loss`) is a
  point of the loss curve; other lines are skipped, unreadable ones counted;
- `loss*.png`: a loss-curve image, embedded as it is when the run has no such metrics;
- `result.json` (train_small's run summary), `zero_shot*.json` and `eval*.json`: JSON objects
  whose numeric values (nested keys joined with dots) make the results table;
- `W/demo.json`: `{"runs": [{"name": ..., "samples": ..., "zero_shot_shape_top1": ...}, ...]}`,
  the comparison table of the demo.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from wit_pipeline.core.workspace import Workspace
from wit_pipeline.report import plots
from wit_pipeline.report.html import Section, data_uri, esc, image, not_run, table

TRAIN_DIR = "train"
DEMO_FILE = "demo.json"
LOSS_KEYS = ("loss", "train_loss")
RESULT_PATTERNS = ("result.json", "zero_shot*.json", "eval*.json")


@dataclass
class TrainingResults:
    """Everything the training section shows."""

    curves: list[tuple[str, list[float], list[float]]] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)
    results: list[tuple[str, str, float]] = field(default_factory=list)
    demo_runs: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def found(self) -> bool:
        return bool(self.curves or self.images or self.results or self.demo_runs)


def _run_name(folder: Path, train_dir: Path) -> str:
    relative = folder.relative_to(train_dir).as_posix()
    return TRAIN_DIR if relative == "." else relative


def _loss_points(path: Path, found: TrainingResults) -> tuple[list[float], list[float]]:
    steps, losses, bad = [], [], 0
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if not isinstance(record, dict):
            continue
        loss = next((record[k] for k in LOSS_KEYS if isinstance(record.get(k), int | float)), None)
        if isinstance(record.get("step"), int | float) and loss is not None:
            steps.append(float(record["step"]))
            losses.append(float(loss))
    if bad:
        found.unreadable.append(f"{path}: {bad} lines are not JSON")
    return steps, losses


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, float]]:
    if isinstance(value, dict):
        return [
            item
            for key, inner in value.items()
            for item in _flatten(inner, f"{prefix}.{key}" if prefix else str(key))
        ]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [(prefix, float(value))]
    return []


def _png(path: Path) -> str | None:
    try:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as opened:
            opened.verify()
    except (OSError, ValueError):
        return None
    return data_uri(data, "image/png")


def _read_json(path: Path, found: TrainingResults) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        found.unreadable.append(f"{path}: not JSON")
        return None


def read_training(workspace: Workspace) -> TrainingResults:
    """Whatever training results the workspace holds (see the module docstring)."""
    found = TrainingResults()
    train_dir = workspace.root / TRAIN_DIR
    if train_dir.is_dir():
        for metrics in sorted(train_dir.rglob("metrics.jsonl")):
            steps, losses = _loss_points(metrics, found)
            if steps:
                found.curves.append((_run_name(metrics.parent, train_dir), steps, losses))
        with_curves = {name for name, _, _ in found.curves}
        for png in sorted(train_dir.rglob("loss*.png")):
            name = _run_name(png.parent, train_dir)
            uri = _png(png) if name not in with_curves else None
            if uri:
                found.images.append((name, uri))
        for pattern in RESULT_PATTERNS:
            for path in sorted(train_dir.rglob(pattern)):
                name = _run_name(path.parent, train_dir)
                for metric, value in _flatten(_read_json(path, found)):
                    found.results.append((name, f"{path.stem}: {metric}", value))
    demo = workspace.root / DEMO_FILE
    if demo.is_file():
        content = _read_json(demo, found)
        runs = content.get("runs") if isinstance(content, dict) else None
        found.demo_runs = [run for run in runs or [] if isinstance(run, dict)]
    return found


def training_section(workspace: Workspace) -> Section:
    """Loss curves, the demo's comparison table and the zero-shot results."""
    title = "Training"
    found = read_training(workspace)
    if not found.found():
        body = not_run(f"no training results in {TRAIN_DIR}/ or {DEMO_FILE}", "wit-pipeline train")
        return Section("training", title, body, ran=False)
    body = ""
    if found.curves:
        body += image(plots.loss_curves(found.curves), "training loss", "plot")
    for name, uri in found.images:
        body += f"<h3>{esc(name)}: loss curve</h3>" + image(uri, f"{name} loss curve", "plot")
    if found.demo_runs:
        columns = list(dict.fromkeys(key for run in found.demo_runs for key in run))
        body += "<h3>Demo runs</h3>" + table(
            columns, [[run.get(c) for c in columns] for run in found.demo_runs]
        )
    if found.results:
        body += "<h3>Run results and evaluations</h3>" + table(
            ["run", "metric", "value"], found.results
        )
    if found.unreadable:
        body += '<p class="note">Skipped: ' + esc("; ".join(found.unreadable)) + "</p>"
    return Section("training", title, body)

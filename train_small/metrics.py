"""Training metrics as JSON lines (one object per step) and the loss curve drawn from them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wit_pipeline.core.atomic import atomic_path, atomic_write


class MetricsLog:
    """Appends one JSON object per step to `path`; on resume, first drops the lines of steps
    after the checkpoint (an interrupted run may have logged past it)."""

    def __init__(self, path: Path, resume_step: int) -> None:
        self.path = Path(path)
        kept = [row for row in read_metrics(self.path) if row["step"] <= resume_step]
        with atomic_write(self.path, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in kept)
        self.handle = open(self.path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115

    def write(self, row: dict[str, Any]) -> None:
        """Append one row."""
        self.handle.write(json.dumps(row) + "\n")

    def close(self) -> None:
        """Flush and close the file."""
        self.handle.close()


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The rows of a metrics file (none when it does not exist)."""
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def plot_loss_curve(rows: list[dict[str, Any]], path: Path, title: str) -> Path:
    """The loss per step (and a 20-step moving average) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    steps = [row["step"] for row in rows]
    losses = [row["loss"] for row in rows]
    window = 20
    smooth = [
        sum(losses[max(0, i - window + 1) : i + 1]) / (i + 1 - max(0, i - window + 1))
        for i in range(len(losses))
    ]
    figure, axes = plt.subplots(figsize=(6, 3.5), dpi=100)
    axes.plot(steps, losses, color="#9bb8d3", linewidth=0.8, label="loss")
    axes.plot(steps, smooth, color="#1f5f99", linewidth=1.6, label=f"mean of {window}")
    axes.set_xlabel("step")
    axes.set_ylabel("contrastive loss")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    with atomic_path(path) as temp:
        figure.savefig(temp, format="png")
    plt.close(figure)
    return Path(path)

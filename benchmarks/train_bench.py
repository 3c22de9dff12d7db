"""Throughput of train_small: training samples/s against the loader's samples/s alone, and the
training step with its loader against the bare step on an in-memory batch, in one run.

Shards: labelled test-web images drawn at 256 px (the download stage's size) by
`wit_pipeline.testweb.evalset`, 256 per shard. Loader alone: `train_loader` with the same spec
and workers as training, batches drained as fast as they come (worker start-up excluded).
Training: `train_small.train` with the default recipe for `--steps` steps; its rate is taken
from the per-step timestamps of metrics.jsonl after the first step (start-up excluded).
Bare step: the same model and optimiser stepping on one batch held in memory. Target: the
loader >= 2x what training consumes. Each side runs `--repeats` times, alternating; the best
run counts (noise on a shared machine only slows runs down).

    python benchmarks/train_bench.py [--samples 2048] [--steps 20] [--repeats 2]
        [--workers N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from machine import describe_machine

from train_small import TrainConfig, train
from train_small.data import DataPosition, readers_for, train_loader
from train_small.metrics import read_metrics
from train_small.model import build_model, model_config
from train_small.schedule import warmup_cosine
from train_small.trainer import build_optimizer, stream_spec, train_step
from wit_pipeline.testweb.evalset import write_labelled_shards

COMMAND = "python benchmarks/train_bench.py"


def loader_rate(config: TrainConfig, batches: int) -> float:
    """Samples/s of the training loader drained alone, after its first batch."""
    readers = readers_for(config.shards, config.workers)
    stream = iter(train_loader(stream_spec(config), readers, DataPosition(readers)))
    next(stream)
    start = time.perf_counter()
    for _ in range(batches):
        next(stream)
    seconds = time.perf_counter() - start
    del stream
    return batches * config.batch_size / seconds


def training_rate(config: TrainConfig) -> float:
    """Samples/s that a fresh `train` run consumes, from its per-step timestamps."""
    result = train(config)
    rows = read_metrics(result.metrics)
    seconds = rows[-1]["elapsed_s"] - rows[0]["elapsed_s"]
    return (len(rows) - 1) * config.batch_size / seconds


def bare_step_rate(config: TrainConfig, steps: int) -> float:
    """Samples/s of the training step on one in-memory batch (no loader running)."""
    readers = readers_for(config.shards, config.workers)
    stream = iter(train_loader(stream_spec(config), 0, DataPosition(readers)))
    batch = next(stream)
    model = build_model(model_config(config))
    optimizer = build_optimizer(model, config)
    scheduler = warmup_cosine(optimizer, config.warmup_steps, config.steps)
    train_step(model, optimizer, scheduler, batch, config)
    start = time.perf_counter()
    for _ in range(steps):
        train_step(model, optimizer, scheduler, batch, config)
    return steps * config.batch_size / (time.perf_counter() - start)


def rows_for(best: dict[str, float], config: TrainConfig, machine: str, command: str) -> list:
    """The JSON rows of the two comparisons."""
    return [
        {
            "stage": "train",
            "metric": "loader samples/s alone vs training samples/s",
            "ours": round(best["loader"], 1),
            "anchor": "training consumption (train_small.train, same shards and workers)",
            "anchor_value": round(best["train"], 1),
            "unit": "samples/s",
            "ratio": round(best["loader"] / best["train"], 2),
            "command": command,
            "machine": machine,
        },
        {
            "stage": "train",
            "metric": "training samples/s with its loader vs the bare step",
            "ours": round(best["train"], 1),
            "anchor": "training step on an in-memory batch (no loader)",
            "anchor_value": round(best["bare"], 1),
            "unit": "samples/s",
            "ratio": round(best["train"] / best["bare"], 2),
            "command": command,
            "machine": machine,
        },
    ]


def main(argv: list[str] | None = None) -> int:
    """Build the shards, run the three measurements alternately, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workers", type=int, default=TrainConfig.workers)
    parser.add_argument("--json", help="write the result rows to this JSON file")
    args = parser.parse_args(argv)
    machine = describe_machine()
    print(f"machine: {machine}")
    with tempfile.TemporaryDirectory(prefix="train_bench-") as tmp:
        shards = write_labelled_shards(Path(tmp) / "shards", args.samples, seed=1, image_size=256)
        base = TrainConfig(
            shards=str(shards), out_dir=Path(tmp) / "run", steps=args.steps,
            workers=args.workers, checkpoint_every=10**9, progress=False,
        )  # fmt: skip
        rates: dict[str, list[float]] = {"loader": [], "train": [], "bare": []}
        for repeat in range(args.repeats):
            run = replace(base, out_dir=Path(tmp) / f"run{repeat}")
            rates["loader"].append(loader_rate(run, args.steps))
            rates["train"].append(training_rate(run))
            rates["bare"].append(bare_step_rate(run, min(args.steps, 20)))
    best = {name: max(values) for name, values in rates.items()}
    print(f"{'measure':<34}{'best':>10}{'all runs (samples/s)':>34}")
    for name, label in (
        ("loader", "loader alone"),
        ("train", "training (with loader)"),
        ("bare", "bare step (batch in memory)"),
    ):
        runs = ", ".join(f"{r:.0f}" for r in rates[name])
        print(f"{label:<34}{best[name]:>10.0f}{runs:>34}")
    ratio = best["loader"] / best["train"]
    verdict = "meets" if ratio >= 2 else "misses"
    print(f"loader / training = {ratio:.2f}x ({verdict} the 2x target); training / bare step = "
          f"{best['train'] / best['bare']:.2f}")  # fmt: skip
    if args.json:
        command = " ".join([COMMAND, *(argv if argv is not None else sys.argv[1:])])
        rows = rows_for(best, base, machine, command)
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The training loop: AdamW with warmup + cosine, gradient clipping, optional bf16 autocast,
checkpoints every N steps and exact resume from the newest one in the run folder."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from wit_pipeline.core.atomic import write_json_atomic

from .checkpoint import latest_checkpoint, load_checkpoint, restore_rng, save_checkpoint
from .config import TrainConfig, TrainResult
from .data import DataPosition, StreamSpec, readers_for, train_loader
from .loss import clamp_logit_scale_, contrastive_loss
from .metrics import MetricsLog, plot_loss_curve, read_metrics
from .model import PREPROCESS_CFG, build_model, model_config, normalise
from .schedule import warmup_cosine

RUN_FIELDS_FREE = ("out_dir", "stop_at", "progress", "checkpoint_every", "device")
"""Settings a resumed run may change; every other one must match the checkpoint's."""
FINAL_LOSS_WINDOW = 10


def _no_decay(name: str, param: torch.nn.Parameter) -> bool:
    """Gains, biases and the temperature get no weight decay (as in open_clip's training)."""
    return param.ndim < 2 or "bias" in name or "ln" in name or "logit_scale" in name


def build_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW (CLIP's betas and eps) with weight decay on matrices only; fused: one pass over
    the token-embedding table instead of a dozen (it dominates the step otherwise)."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in named if _no_decay(n, p)], "weight_decay": 0.0},
        {
            "params": [p for n, p in named if not _no_decay(n, p)],
            "weight_decay": config.weight_decay,
        },
    ]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.98), eps=1e-6, fused=True)


def _check_resumable(state: dict[str, Any], config: TrainConfig, path: Path) -> None:
    saved = state["config"]
    current = config.as_dict()
    changed = [k for k in current if k not in RUN_FIELDS_FREE and saved.get(k) != current[k]]
    if changed:
        name = changed[0]
        raise ValueError(
            f"{path}: the run folder holds a run with other settings ({name}: {saved.get(name)!r}"
            f" there, {current[name]!r} now); use another out_dir or remove it"
        )


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class _Run:
    """The live objects of a run and where it stands."""

    model: torch.nn.Module
    optimizer: torch.optim.AdamW
    scheduler: torch.optim.lr_scheduler.LambdaLR
    position: DataPosition
    step: int = 0
    rng: dict[str, Any] | None = None
    """RNG states to restore once the loader exists (resumed runs)."""

    def state(self, config: TrainConfig) -> dict[str, Any]:
        """What a checkpoint holds (save_checkpoint adds step and RNG states)."""
        return {
            "state_dict": self.model.state_dict(),
            "model_cfg": model_config(config),
            "preprocess_cfg": PREPROCESS_CFG,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "data": self.position.state_dict(),
            "config": config.as_dict(),
        }


def _start(config: TrainConfig, readers: int) -> tuple[_Run, Path | None]:
    """A fresh run, or the run resumed from the newest checkpoint of `out_dir` (and its path)."""
    _seed_everything(config.seed)
    model = build_model(model_config(config)).to(config.device)
    optimizer = build_optimizer(model, config)
    scheduler = warmup_cosine(optimizer, config.warmup_steps, config.steps)
    run = _Run(model, optimizer, scheduler, DataPosition(readers))
    checkpoint = latest_checkpoint(Path(config.out_dir))
    if checkpoint is not None:
        saved = load_checkpoint(checkpoint)
        _check_resumable(saved, config, checkpoint)
        model.load_state_dict(saved["state_dict"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        run.position, run.step, run.rng = DataPosition(**saved["data"]), saved["step"], saved["rng"]
    return run, checkpoint


def stream_spec(config: TrainConfig) -> StreamSpec:
    """The loader spec of a run."""
    return StreamSpec(
        source=config.shards,
        seed=config.seed,
        batch_size=config.batch_size,
        image_size=config.image_size,
        context_length=config.context_length,
        shuffle_buffer=config.shuffle_buffer,
        augment=config.augment,
    )


@dataclass
class _Clock:
    """Wall time of a call, its wait for the first batch, and the data wait after it."""

    started: float = field(default_factory=time.perf_counter)
    loop_started: float = 0.0
    startup: float = 0.0
    waited: float = 0.0

    def batch_waited(self, seconds: float, first: bool) -> None:
        """Account a wait for data (the first one is start-up, not data wait)."""
        if first:
            self.startup, self.loop_started = seconds, time.perf_counter()
        else:
            self.waited += seconds

    def wait_fraction(self) -> float:
        """Share of the loop after the first batch spent waiting for data."""
        return self.waited / max(time.perf_counter() - self.loop_started, 1e-9)


def train(config: TrainConfig) -> TrainResult:
    """Train (or resume) the run in `config.out_dir` up to `config.steps` (or `stop_at`)."""
    clock = _Clock()
    readers = readers_for(config.shards, config.workers)
    out_dir = Path(config.out_dir)
    run, checkpoint = _start(config, readers)
    write_json_atomic(
        out_dir / "config.json", {"train": config.as_dict(), "model_cfg": model_config(config)}
    )
    metrics = MetricsLog(out_dir / "metrics.jsonl", run.step)
    batches = iter(
        train_loader(stream_spec(config), readers if config.workers else 0, run.position)
    )
    if run.rng is not None:
        restore_rng(run.rng)
    end = min(config.steps, config.stop_at or config.steps)
    first_step = run.step
    run.model.train()
    with tqdm(total=end, initial=run.step, unit="step", disable=not config.progress) as bar:
        while run.step < end:
            before = time.perf_counter()
            batch = next(batches)
            wait = time.perf_counter() - before
            clock.batch_waited(wait, first=run.step == first_step)
            computing = time.perf_counter()
            loss = train_step(run.model, run.optimizer, run.scheduler, batch, config)
            run.step += 1
            run.position.advance(batch)
            metrics.write(
                {
                    "step": run.step,
                    "loss": loss,
                    "lr": run.scheduler.get_last_lr()[0],
                    "logit_scale": float(run.model.logit_scale.detach().exp()),
                    "data_wait_s": wait,
                    "step_s": time.perf_counter() - computing,
                    "elapsed_s": time.perf_counter() - clock.started,
                    "epoch": batch["epoch"],
                }
            )
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            bar.update()
            if run.step % config.checkpoint_every == 0 or run.step == end:
                checkpoint = save_checkpoint(out_dir, run.step, run.state(config))
    del batches
    metrics.close()
    return _summarise(config, run, checkpoint, run.step - first_step, clock)


def _summarise(
    config: TrainConfig, run: _Run, checkpoint: Path | None, trained: int, clock: _Clock
) -> TrainResult:
    """The loss curve, result.json and the TrainResult of a call that trained `trained` steps."""
    out_dir = Path(config.out_dir)
    rows = read_metrics(out_dir / "metrics.jsonl")
    recent = [row["loss"] for row in rows[-FINAL_LOSS_WINDOW:]]
    title = f"train_small: {run.step} steps, batch {config.batch_size}"
    seconds = time.perf_counter() - clock.started
    result = TrainResult(
        checkpoint=Path(checkpoint) if checkpoint else out_dir,
        out_dir=out_dir,
        steps=run.step,
        seconds=seconds,
        samples_per_second=trained * config.batch_size / seconds,
        final_loss=sum(recent) / len(recent) if recent else float("nan"),
        data_wait_fraction=clock.wait_fraction() if trained > 1 else 0.0,
        startup_seconds=clock.startup,
        epochs=run.position.epoch + 1,
        metrics=out_dir / "metrics.jsonl",
        loss_curve=plot_loss_curve(rows, out_dir / "loss_curve.png", title),
    )
    write_json_atomic(out_dir / "result.json", json.loads(json.dumps(vars(result), default=str)))
    return result


def train_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    batch: dict[str, Any],
    config: TrainConfig,
) -> float:
    """One optimisation step on a batch; returns the loss."""
    device = torch.device(config.device)
    images = normalise(batch["images"].to(device, non_blocking=True))
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.bf16):
        image_features = model.encode_image(images)
        text_features = model.encode_text(batch["tokens"].to(device, non_blocking=True))
    loss = contrastive_loss(image_features, text_features, model.logit_scale.exp())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    optimizer.step()
    scheduler.step()
    clamp_logit_scale_(model)
    return float(loss.detach())

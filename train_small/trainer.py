"""The training loop: AdamW with warmup + cosine, gradient clipping, optional bf16 autocast,
checkpoints every N steps and exact resume from the newest one in the run folder."""

from __future__ import annotations

import json
import random
import time
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


def train(config: TrainConfig) -> TrainResult:
    """Train (or resume) the run in `config.out_dir` up to `config.steps` (or `stop_at`)."""
    started = time.perf_counter()
    readers = readers_for(config.shards, config.workers)
    out_dir = Path(config.out_dir)
    _seed_everything(config.seed)
    model_cfg = model_config(config)
    model = build_model(model_cfg).to(config.device)
    optimizer = build_optimizer(model, config)
    scheduler = warmup_cosine(optimizer, config.warmup_steps, config.steps)
    position, step, resumed = DataPosition(readers), 0, None
    checkpoint = latest_checkpoint(out_dir)
    if checkpoint is not None:
        resumed = load_checkpoint(checkpoint)
        _check_resumable(resumed, config, checkpoint)
        model.load_state_dict(resumed["state_dict"])
        optimizer.load_state_dict(resumed["optimizer"])
        scheduler.load_state_dict(resumed["scheduler"])
        position, step = DataPosition(**resumed["data"]), resumed["step"]
    write_json_atomic(out_dir / "config.json", {"train": config.as_dict(), "model_cfg": model_cfg})
    metrics = MetricsLog(out_dir / "metrics.jsonl", step)
    spec = StreamSpec(
        source=config.shards,
        seed=config.seed,
        batch_size=config.batch_size,
        image_size=config.image_size,
        context_length=config.context_length,
        shuffle_buffer=config.shuffle_buffer,
        augment=config.augment,
    )
    batches = iter(train_loader(spec, readers if config.workers else 0, position))
    if resumed is not None:
        restore_rng(resumed["rng"])
    end = min(config.steps, config.stop_at or config.steps)
    first_step, waited, startup = step, 0.0, 0.0
    loop_started = time.perf_counter()

    def state() -> dict[str, Any]:
        return {
            "state_dict": model.state_dict(),
            "model_cfg": model_cfg,
            "preprocess_cfg": PREPROCESS_CFG,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "data": position.state_dict(),
            "config": config.as_dict(),
        }

    model.train()
    with tqdm(total=end, initial=step, unit="step", disable=not config.progress) as bar:
        while step < end:
            before = time.perf_counter()
            batch = next(batches)
            wait = time.perf_counter() - before
            if step == first_step:
                startup = wait
                loop_started = time.perf_counter()
            else:
                waited += wait
            computing = time.perf_counter()
            loss = _train_step(model, optimizer, scheduler, batch, config)
            step += 1
            position.advance(batch)
            metrics.write(
                {
                    "step": step,
                    "loss": loss,
                    "lr": scheduler.get_last_lr()[0],
                    "logit_scale": float(model.logit_scale.detach().exp()),
                    "data_wait_s": wait,
                    "step_s": time.perf_counter() - computing,
                    "elapsed_s": time.perf_counter() - started,
                    "epoch": batch["epoch"],
                }
            )
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            bar.update()
            if step % config.checkpoint_every == 0 or step == end:
                checkpoint = save_checkpoint(out_dir, step, state())
    del batches
    metrics.close()
    rows = read_metrics(out_dir / "metrics.jsonl")
    loop_seconds = time.perf_counter() - loop_started
    seconds = time.perf_counter() - started
    trained = step - first_step
    recent = [row["loss"] for row in rows[-FINAL_LOSS_WINDOW:]]
    curve = plot_loss_curve(
        rows, out_dir / "loss_curve.png", f"train_small: {step} steps, batch {config.batch_size}"
    )
    result = TrainResult(
        checkpoint=Path(checkpoint) if checkpoint else out_dir,
        out_dir=out_dir,
        steps=step,
        seconds=seconds,
        samples_per_second=trained * config.batch_size / seconds if trained else 0.0,
        final_loss=sum(recent) / len(recent) if recent else float("nan"),
        data_wait_fraction=waited / loop_seconds if trained > 1 else 0.0,
        startup_seconds=startup,
        epochs=position.epoch + 1,
        metrics=out_dir / "metrics.jsonl",
        loss_curve=curve,
    )
    write_json_atomic(out_dir / "result.json", json.loads(json.dumps(vars(result), default=str)))
    return result


def _train_step(
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

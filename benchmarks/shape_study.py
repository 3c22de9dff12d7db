"""Does a tower learn shape from captions, and how fast: train_small's model and loss on clean
labelled test-web images (true captions) held in memory, evaluated every `--eval-every` steps
on a held-out set of another seed (zero-shot shape and colour top-1, i2t R@1, probe shape).

No pipeline, no loader: pixels are decoded once at the tower's size and each step draws a batch
with replacement and one of the 8 flips and quarter turns per sample, so the figures isolate the
tower and the recipe from the data the demo's filters keep.

    python benchmarks/shape_study.py [--images 1000] [--steps 200] [--eval-every 50]
        [--image-tower cnn] [--batch-size 128] [--json benchmarks/results/shape_study.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from machine import describe_machine

from train_small import TrainConfig, evaluate
from train_small.data import caption_text, decode_image, image_bytes
from train_small.loss import clamp_logit_scale_, contrastive_loss
from train_small.model import build_model, model_config, normalise, tokenizer
from train_small.schedule import warmup_cosine
from train_small.trainer import build_optimizer
from wit_pipeline.core.atomic import write_json_atomic
from wit_pipeline.demo import WARMUP_PERCENT, DemoOptions
from wit_pipeline.reader import shard_pipeline
from wit_pipeline.testweb.evalset import write_labelled_shards

REPO = Path(__file__).resolve().parents[1]


def _pairs(folder: Path, size: int, context_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image of labelled shards at `size` px (uint8 NCHW) and its tokenized caption."""
    pixels, captions = [], []
    for sample in shard_pipeline(str(folder), decode=None):
        pixels.append(decode_image(image_bytes(sample), size))
        captions.append(caption_text(sample))
    images = torch.from_numpy(np.stack(pixels)).permute(0, 3, 1, 2).contiguous()
    return images, tokenizer(context_length)(captions)


def _dihedral(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image mirrored or not, then turned by a random number of quarter turns."""
    which = torch.randint(8, (len(images),), generator=generator)
    out = torch.empty_like(images)
    for kind in range(8):
        chosen = which == kind
        part = images[chosen].flip(3) if kind & 4 else images[chosen]
        out[chosen] = torch.rot90(part, kind & 3, (2, 3))
    return out


def main(argv: list[str] | None = None) -> int:
    """Train one recipe in memory, evaluating along the way; print (and save) the curve."""
    demo = DemoOptions()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=str(REPO / "wit-data" / "shape-study"))
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=demo.batch_size)
    parser.add_argument("--image-tower", default=demo.image_tower)
    parser.add_argument("--image-size", type=int, default=demo.image_size)
    parser.add_argument("--lr", type=float, default=demo.lr)
    parser.add_argument("--json", help="append the run to this JSON file")
    args = parser.parse_args(argv)
    machine = describe_machine()
    print(machine, flush=True)
    root = Path(args.workdir)
    train_dir, eval_dir = root / f"train-{args.images}", root / "eval-600"
    if not (train_dir / "sizes.json").is_file():
        write_labelled_shards(train_dir, args.images, seed=5, samples_per_shard=500)
    if not (eval_dir / "sizes.json").is_file():
        write_labelled_shards(eval_dir, 600, seed=2)
    config = TrainConfig(
        shards="", out_dir="", steps=args.steps, batch_size=args.batch_size, lr=args.lr,
        warmup_steps=max(1, args.steps * WARMUP_PERCENT // 100), weight_decay=demo.weight_decay,
        image_tower=args.image_tower, image_size=args.image_size,
    )  # fmt: skip
    images, tokens = _pairs(train_dir, config.image_size, config.context_length)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = build_model(model_config(config))
    optimizer = build_optimizer(model, config)
    schedule = warmup_cosine(optimizer, config.warmup_steps, config.steps)
    curve, started, train_seconds = [], time.perf_counter(), 0.0
    for step in range(1, config.steps + 1):
        batch = torch.randint(len(images), (config.batch_size,), generator=generator)
        pixels = normalise(_dihedral(images[batch], generator))
        loss = contrastive_loss(
            model.encode_image(pixels), model.encode_text(tokens[batch]), model.logit_scale.exp()
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        schedule.step()
        clamp_logit_scale_(model)
        if step % args.eval_every and step != config.steps:
            continue
        train_seconds += time.perf_counter() - started
        metrics = evaluate(model, str(eval_dir))
        model.train()
        point = {
            "step": step,
            "loss": round(float(loss.detach()), 3),
            "shape_top1": round(metrics["zero_shot_shape_top1"], 3),
            "colour_top1": round(metrics["zero_shot_colour_top1"], 3),
            "i2t_r1": round(metrics["i2t_r1"], 3),
            "probe_shape_top1": round(metrics["linear_probe_shape_top1"], 3),
            "train_seconds": round(train_seconds, 1),
            "load_average": round(os.getloadavg()[0], 1),
        }
        print(json.dumps(point), flush=True)
        curve.append(point)
        started = time.perf_counter()
    if args.json:
        path = Path(args.json)
        old = json.loads(path.read_text()) if path.is_file() else {"runs": []}
        run = {"machine": machine, "options": vars(args), "curve": curve}
        write_json_atomic(path, {"runs": [*old["runs"], run]})
    return 0


if __name__ == "__main__":
    sys.exit(main())

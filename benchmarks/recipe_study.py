"""Recipe study for the demo's final model: which training recipe learns the test web's shapes
and colours from the demo's filtered pool, at equal steps.

Builds the demo's data once (`wit_pipeline.demo.Demo.prepare`: eval set, clean seed set,
bootstrap scorer, noisy pool and the demo's filterings; a rerun reuses them), then trains each
variant on one filtering's shards (`clip_score_dedupe` unless the variant names another) and
evaluates it on the demo's held-out set: zero-shot shape and colour top-1, image->text R@1,
linear-probe shape top-1, train seconds and the load average while it trained. Variants run
one at a time; each changes one thing from the demo's recipe (`base`).

`--ceiling N,...` instead measures how far the image tower alone gets on shape with the labels
given (supervised cross entropy on N clean labelled test-web images, `--steps` steps, batch 128,
flips and quarter turns): an upper bound for what captions can teach it in as many steps.

    python benchmarks/recipe_study.py [--workdir wit-data/recipe-study] [--pool-pages 300]
        [--steps 80] [--variants base,vit,...] [--ceiling 4000 --steps 400]
        [--json benchmarks/results/recipe.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from machine import describe_machine

from train_small import TrainConfig, evaluate, train
from train_small.data import decode_image, image_bytes
from train_small.model import build_model, model_config, normalise
from train_small.schedule import warmup_cosine
from wit_pipeline.core.atomic import write_json_atomic
from wit_pipeline.demo import WARMUP_PERCENT, Demo, DemoOptions
from wit_pipeline.reader import shard_pipeline
from wit_pipeline.testweb.evalset import write_labelled_shards
from wit_pipeline.testweb.vocab import SHAPES

COMMAND = "python benchmarks/recipe_study.py"
REPO = Path(__file__).resolve().parents[1]
VARIANTS: dict[str, dict[str, Any]] = {
    "base": {},
    "cnn": {"image_tower": "cnn", "weight_decay": 0.05, "steps_factor": 1.5},
    "resnet": {"image_tower": "resnet", "weight_decay": 0.1},
    "vit_32px_patch4": {"image_tower": "vit", "image_size": 32, "patch_size": 4},
    "no_augment": {"augment": False},
    "lr_5e-3": {"lr": 5e-3},
    "double_steps": {"steps_factor": 2},
    "no_filter": {"data": "no_filter"},
}
"""Each variant's changes to the demo's recipe; `data` picks the filtering it trains on and
`steps_factor` multiplies the steps."""


def run_variant(
    name: str, changes: dict[str, Any], workspaces: dict[str, Path], options: DemoOptions,
    eval_dir: Path, out_root: Path,
) -> dict[str, Any]:  # fmt: skip
    """Train and evaluate one variant; its row of the results."""
    changes = dict(changes)
    data = changes.pop("data", "clip_score_dedupe")
    steps = round(options.steps * changes.pop("steps_factor", 1))
    recipe = {
        "image_tower": options.image_tower,
        "image_size": options.image_size,
        "lr": options.lr,
        "weight_decay": options.weight_decay,
        **changes,
    }
    config = TrainConfig(
        shards=str(workspaces[data] / "shards"),
        out_dir=out_root / name,
        steps=steps,
        batch_size=options.batch_size,
        warmup_steps=max(1, steps * WARMUP_PERCENT // 100),
        workers=options.workers,
        progress=options.progress,
        **recipe,
    )
    load_before = os.getloadavg()[0]
    result = train(config)
    metrics = evaluate(result.checkpoint, str(eval_dir))
    sizes = json.loads((workspaces[data] / "shards" / "sizes.json").read_text())
    return {
        "variant": name,
        "changes": VARIANTS[name],
        "data": data,
        "samples": sum(sizes.values()),
        "steps": steps,
        "zero_shot_shape_top1": round(metrics["zero_shot_shape_top1"], 3),
        "zero_shot_colour_top1": round(metrics["zero_shot_colour_top1"], 3),
        "i2t_r1": round(metrics["i2t_r1"], 3),
        "linear_probe_shape_top1": round(metrics["linear_probe_shape_top1"], 3),
        "final_loss": round(result.final_loss, 3),
        "train_seconds": round(result.seconds, 1),
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


def _shape_tensors(source: Path, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image of labelled shards at `size` px (uint8, NCHW) and its shape index."""
    pixels, shapes = [], []
    for sample in shard_pipeline(str(source), decode=None):
        pixels.append(decode_image(image_bytes(sample), size))
        shapes.append(SHAPES.index(json.loads(sample["json"])["labels"]["shape"]))
    return torch.from_numpy(np.stack(pixels)).permute(0, 3, 1, 2), torch.tensor(shapes)


def shape_ceiling(
    images: int, config: TrainConfig, eval_dir: Path, data_root: Path
) -> dict[str, Any]:
    """Held-out shape top-1 of the image tower of `config` trained on shape labels alone."""
    folder = data_root / f"labelled-{images}"
    if not (folder / "sizes.json").is_file():
        write_labelled_shards(folder, images, seed=5, samples_per_shard=500)
    train_x, train_y = _shape_tensors(folder, config.image_size)
    eval_x, eval_y = _shape_tensors(eval_dir, config.image_size)
    torch.manual_seed(config.seed)
    tower = build_model(model_config(config)).visual
    optimizer = torch.optim.AdamW(tower.parameters(), lr=config.lr, weight_decay=0.1)
    schedule = warmup_cosine(optimizer, config.warmup_steps, config.steps)
    started = time.perf_counter()
    for _ in range(config.steps):
        batch = torch.randint(len(train_x), (config.batch_size,))
        turned = torch.rot90(train_x[batch], int(torch.randint(4, ())), (2, 3))
        logits = tower(normalise(turned.flip(3) if torch.rand(()) < 0.5 else turned))
        loss = F.cross_entropy(logits, train_y[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    tower.eval()
    with torch.no_grad():
        correct = (tower(normalise(eval_x)).argmax(dim=1) == eval_y).float().mean()
    return {
        "variant": f"ceiling_{config.image_tower}_{config.image_size}px",
        "train_images": images,
        "steps": config.steps,
        "eval_shape_top1": round(float(correct), 3),
        "final_train_loss": round(float(loss.detach()), 3),
        "train_seconds": round(time.perf_counter() - started, 1),
        "load_average": round(os.getloadavg()[0], 1),
    }


def _row_key(row: dict[str, Any]) -> tuple:
    """What makes a result row: a rerun of the same measurement replaces it."""
    return tuple(row.get(k) for k in ("variant", "pool_pages", "steps", "train_images"))


def main(argv: list[str] | None = None) -> int:
    """Build the demo's data once, train the chosen variants one by one, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=str(REPO / "wit-data" / "recipe-study"))
    parser.add_argument("--pool-pages", type=int, default=DemoOptions.pool_pages)
    parser.add_argument("--seed-pages", type=int, default=DemoOptions.seed_pages)
    parser.add_argument("--steps", type=int, default=DemoOptions.steps)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--ceiling", help="labelled training set sizes of the supervised bound")
    parser.add_argument("--image-tower", default=DemoOptions.image_tower)
    parser.add_argument("--image-size", type=int, default=DemoOptions.image_size)
    parser.add_argument("--json", help="write (or extend) the results here")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    chosen = args.variants.split(",")
    unknown = [name for name in chosen if name not in VARIANTS]
    if unknown:
        print(f"recipe_study: unknown variant {unknown[0]!r} ({', '.join(VARIANTS)})")
        return 2
    print(describe_machine(), flush=True)
    root = Path(args.workdir)
    options = DemoOptions(
        pool_pages=args.pool_pages, seed_pages=args.seed_pages, steps=args.steps,
        progress=not args.quiet,
    )  # fmt: skip
    demo = Demo(root, options, lambda line: print(line, file=sys.stderr, flush=True))
    started = time.monotonic()
    workspaces = demo.prepare()
    prepare_seconds = round(time.monotonic() - started, 1)
    rows = []
    for images in map(int, args.ceiling.split(",")) if args.ceiling else ():
        config = TrainConfig(
            shards="", out_dir="", steps=args.steps, embed_dim=len(SHAPES),
            image_tower=args.image_tower, image_size=args.image_size,
        )  # fmt: skip
        row = shape_ceiling(images, config, demo.eval_dir, root)
        print(json.dumps(row), flush=True)
        rows.append(row)
    for name in chosen if not args.ceiling else ():
        row = run_variant(name, VARIANTS[name], workspaces, options, demo.eval_dir, root / "study")
        row.update(pool_pages=args.pool_pages, seed_pages=args.seed_pages)
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.json:
        path = Path(args.json)
        old = json.loads(path.read_text()) if path.is_file() else {"rows": []}
        new = {_row_key(row) for row in rows}
        keep = [row for row in old["rows"] if _row_key(row) not in new]
        write_json_atomic(
            path,
            {
                "command": COMMAND,
                "machine": describe_machine(),
                "demo_options": {"seed_pages": args.seed_pages, "batch_size": options.batch_size},
                "prepare_seconds": {**old.get("prepare_seconds", {}),
                                    str(args.pool_pages): prepare_seconds},
                "rows": keep + rows,
            },
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

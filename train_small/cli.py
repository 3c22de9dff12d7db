"""`python -m train_small train|eval|export`; `add_train_arguments` and `run_train` also serve
`wit-pipeline train`. Bad input prints one line naming the problem and exits 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from wit_pipeline.core.atomic import write_json_atomic

from .config import IMAGE_TOWERS, TrainConfig, TrainResult

EXIT_OK, EXIT_BAD_INPUT = 0, 2
_DEFAULTS = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}
_OPTIONS: tuple[tuple[str, type, str], ...] = (
    ("steps", int, "optimisation steps"),
    ("batch_size", int, "samples per step (the contrastive batch)"),
    ("lr", float, "peak learning rate (AdamW)"),
    ("warmup_steps", int, "linear warmup steps before the cosine decay"),
    ("weight_decay", float, "AdamW weight decay on weight matrices"),
    ("seed", int, "seed of model init, shard order, shuffles and augmentation"),
    ("workers", int, "DataLoader worker processes (readers; at most the number of shards)"),
    ("checkpoint_every", int, "write a checkpoint every N steps (and at the end)"),
    ("image_size", int, "image side in pixels"),
    ("patch_size", int, "ViT patch side in pixels"),
    ("resnet_width", int, "ResNet stem width (its last stage has 32x the channels)"),
    ("resnet_blocks", int, "ResNet bottleneck blocks per stage (4 stages)"),
    ("vision_width", int, "ViT width"),
    ("vision_layers", int, "ViT layers"),
    ("text_width", int, "text transformer width"),
    ("text_layers", int, "text transformer layers"),
    ("embed_dim", int, "joint embedding size"),
    ("context_length", int, "caption tokens (longer captions are cut)"),
    ("grad_clip", float, "gradient norm clip"),
    ("shuffle_buffer", int, "sample shuffle buffer per reader"),
    ("stop_at", int, "stop after this step (a rerun resumes to --steps)"),
)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_train_arguments(parser: argparse.ArgumentParser, in_workspace: bool = False) -> None:
    """The options of `train`: data, output, recipe, model shape, evaluation and export.
    `in_workspace`: shards and run folder may be left out (the caller fills in its own)."""
    parser.add_argument(
        "--shards",
        required=not in_workspace,
        help="shard folder, brace pattern or URL (WebDataset tars)"
        + (" (default: W/shards)" if in_workspace else ""),
    )
    parser.add_argument(
        "--out", dest="out_dir", default=None if in_workspace else "train-runs/run",
        help="run folder: checkpoints, metrics.jsonl, loss_curve.png (resumed when it holds one)"
        + (" (default: W/train)" if in_workspace else ""),
    )  # fmt: skip
    for name, kind, text in _OPTIONS:
        default = _DEFAULTS[name]
        parser.add_argument(_flag(name), type=kind, default=default, help=f"{text} ({default})")
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=False,
                        help="bf16 autocast (off: slower on the CPUs measured)")  # fmt: skip
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                        help="random crops, flips and quarter turns while training")  # fmt: skip
    parser.add_argument("--image-tower", choices=IMAGE_TOWERS, default=_DEFAULTS["image_tower"],
                        help="ViT or open_clip's ModifiedResNet (%(default)s)")  # fmt: skip
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="(cpu)")
    parser.add_argument("--eval-shards", help="held-out labelled shards to evaluate on at the end")
    parser.add_argument("--export", help="also export the final model as a local-dir folder here")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """A TrainConfig from parsed `train` options."""
    values = {name: getattr(args, name) for name, _, _ in _OPTIONS}
    return TrainConfig(
        shards=args.shards,
        out_dir=args.out_dir,
        bf16=args.bf16,
        augment=args.augment,
        device=args.device,
        image_tower=args.image_tower,
        progress=not getattr(args, "quiet", False),
        **values,
    )


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, dict):
        return ", ".join(f"{name} {_shown(inner)}" for name, inner in value.items())
    return str(value)


def _print_metrics(metrics: dict[str, Any]) -> None:
    for name, value in metrics.items():
        print(f"  {name:28s} {_shown(value)}")


def train_from_args(args: argparse.Namespace) -> TrainResult:
    """Train (resuming the run folder if it holds a run), then evaluate into `eval.json` and
    export if asked; ValueError or FileNotFoundError for bad input."""
    from .evaluation import evaluate
    from .export import export_local_dir
    from .trainer import train

    config = config_from_args(args)
    result = train(config)
    if args.eval_shards:
        metrics = evaluate(result.checkpoint, args.eval_shards)
        write_json_atomic(Path(config.out_dir) / "eval.json", metrics)
        result.extra["eval"] = metrics
    if args.export:
        result.extra["export"] = str(export_local_dir(result.checkpoint, args.export))
    return result


def run_train(args: argparse.Namespace) -> int:
    """`train`: train_from_args, printing its summary, metrics and export folder."""
    try:
        result = train_from_args(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"train: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(result.line())
    _print_metrics(result.extra.get("eval", {}))
    if "export" in result.extra:
        print(f"exported {result.extra['export']}")
    return EXIT_OK


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `eval`."""
    parser.add_argument("--model", required=True, help="checkpoint (.pt) or exported folder")
    parser.add_argument("--eval-shards", required=True, help="held-out labelled shards")
    parser.add_argument("--json", help="also write the metrics to this JSON file")


def run_eval(args: argparse.Namespace) -> int:
    """Evaluate a checkpoint or exported folder and print (and optionally save) the metrics."""
    from .evaluation import evaluate

    try:
        metrics = evaluate(args.model, args.eval_shards)
    except (ValueError, FileNotFoundError) as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    _print_metrics(metrics)
    if args.json:
        write_json_atomic(args.json, metrics)
    return EXIT_OK


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `export`."""
    parser.add_argument("--checkpoint", required=True, help="train_small checkpoint (.pt)")
    parser.add_argument("--out", required=True, help="folder to write (local-dir: format)")


def run_export(args: argparse.Namespace) -> int:
    """Export a checkpoint as an open_clip local-dir folder."""
    from .export import export_local_dir

    try:
        folder = export_local_dir(args.checkpoint, args.out)
    except (ValueError, FileNotFoundError) as exc:
        print(f"export: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"exported {folder} (use: --clip-model local-dir:{folder})")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The `python -m train_small` parser."""
    parser = argparse.ArgumentParser(prog="python -m train_small", description=__doc__)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, add, run, text in (
        ("train", add_train_arguments, run_train, "train a small CLIP on shards"),
        ("eval", add_eval_arguments, run_eval, "zero-shot, retrieval and linear probe"),
        ("export", add_export_arguments, run_export, "write an open_clip local-dir folder"),
    ):
        command = commands.add_parser(name, help=text, description=text)
        add(command)
        command.set_defaults(handler=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse and run one command; returns the exit code."""
    args = build_parser().parse_args(argv)
    return args.handler(args)

"""`wit-pipeline demo`: the whole pipeline on a noisy synthetic web, then five training runs."""

from __future__ import annotations

import argparse
import shutil
import sys

from train_small.config import IMAGE_TOWERS
from wit_pipeline.commands.common import EXIT_OK, add_command
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.options import positive_int
from wit_pipeline.core.workspace import Workspace

SIZE_OPTIONS = {
    "pool_pages": (positive_int, "pages of the noisy web"),
    "seed_pages": (positive_int, "pages of the clean seed web"),
    "eval_samples": (positive_int, "held-out labelled images"),
    "bootstrap_steps": (positive_int, "steps of the bootstrap scorer"),
    "steps": (positive_int, "steps of each final run"),
    "batch_size": (positive_int, "training batch"),
    "keep_fraction": (float, "top share by CLIP score the CLIP runs keep"),
    "concept_skew": (float, "Zipf exponent of the noisy web's shapes and colours (0: uniform)"),
    "balance_cap": (positive_int, "MetaCLIP's cap of the balanced run: samples per entry"),
    "workers": (int, "DataLoader workers for training"),
    "image_size": (positive_int, "image side of every run in pixels"),
    "weight_decay": (float, "AdamW weight decay of every run"),
}
"""The DemoOptions fields the command line sets: type and help of each flag."""


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the demo in the workspace and print the table of its runs."""
    from wit_pipeline.demo import Demo, DemoOptions, format_table

    if not 0.0 < args.keep_fraction <= 1.0:
        raise InputError(f"--keep-fraction {args.keep_fraction}: must be in (0, 1]")
    if not 0.0 <= args.concept_skew <= 4.0:
        raise InputError(f"--concept-skew {args.concept_skew}: must be within [0, 4]")
    if not args.scale > 0:
        raise InputError(f"--scale {args.scale}: must be > 0")
    root = Workspace.at(args.workdir, remote_ok=False).root
    if args.fresh and root.exists():
        shutil.rmtree(root)
    sizes = {name: getattr(args, name) for name in SIZE_OPTIONS}
    options = DemoOptions(**sizes, image_tower=args.image_tower, progress=not args.quiet)
    options = options.scaled(args.scale)

    def say(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    summary = Demo(root, options, say).run()
    print(format_table(summary))
    if not args.quiet:
        print(f"demo: wrote {root / 'demo.json'}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `demo` to the top-level parser."""
    from wit_pipeline.demo import DemoOptions

    defaults = DemoOptions()
    demo = add_command(
        sub,
        "demo",
        "build a dataset from a noisy local test web and compare five curations by training",
        cmd_demo,
    )
    demo.add_argument("--fresh", action="store_true", help="delete the workspace first")
    demo.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply the pages of both webs and the steps of every run (default: %(default)s)",
    )
    demo.add_argument(
        "--image-tower",
        choices=IMAGE_TOWERS,
        default=defaults.image_tower,
        help="image tower of every run (default: %(default)s)",
    )
    for name, (kind, text) in SIZE_OPTIONS.items():
        demo.add_argument(
            "--" + name.replace("_", "-"),
            type=kind,
            default=getattr(defaults, name),
            help=f"{text} (default: %(default)s)".lstrip(),
        )

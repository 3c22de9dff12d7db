"""`wit-pipeline demo`: the whole pipeline on a noisy synthetic web, then four training runs."""

from __future__ import annotations

import argparse
import shutil
import sys

from wit_pipeline.commands.common import EXIT_OK, add_command, positive_int
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.workspace import Workspace


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the demo in the workspace and print the table of the four runs."""
    from wit_pipeline.demo import Demo, DemoOptions, format_table

    if not 0.0 < args.keep_fraction <= 1.0:
        raise InputError(f"--keep-fraction {args.keep_fraction}: must be in (0, 1]")
    root = Workspace.at(args.workdir).root
    if args.fresh and root.exists():
        shutil.rmtree(root)
    options = DemoOptions(
        pool_pages=args.pool_pages,
        seed_pages=args.seed_pages,
        eval_samples=args.eval_samples,
        bootstrap_steps=args.bootstrap_steps,
        steps=args.steps,
        batch_size=args.batch_size,
        keep_fraction=args.keep_fraction,
        workers=args.workers,
        progress=not args.quiet,
    )

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
        "build a dataset from a noisy local test web and compare four filters by training",
        cmd_demo,
    )
    demo.add_argument("--fresh", action="store_true", help="delete the workspace first")
    demo.add_argument(
        "--pool-pages",
        type=positive_int,
        default=defaults.pool_pages,
        help="(default: %(default)s)",
    )
    demo.add_argument(
        "--seed-pages",
        type=positive_int,
        default=defaults.seed_pages,
        help="(default: %(default)s)",
    )
    demo.add_argument(
        "--eval-samples",
        type=positive_int,
        default=defaults.eval_samples,
        help="(default: %(default)s)",
    )
    demo.add_argument(
        "--bootstrap-steps",
        type=positive_int,
        default=defaults.bootstrap_steps,
        help="(default: %(default)s)",
    )
    demo.add_argument(
        "--steps",
        type=positive_int,
        default=defaults.steps,
        help="steps of each final run (default: %(default)s)",
    )
    demo.add_argument(
        "--batch-size",
        type=positive_int,
        default=defaults.batch_size,
        help="(default: %(default)s)",
    )
    demo.add_argument(
        "--keep-fraction",
        type=float,
        default=defaults.keep_fraction,
        help="top share by CLIP score the CLIP runs keep (default: %(default)s)",
    )
    demo.add_argument(
        "--workers",
        type=int,
        default=defaults.workers,
        help="DataLoader workers for training (default: %(default)s)",
    )

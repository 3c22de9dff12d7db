"""`wit-pipeline run CONFIG.yaml`: every stage of a config file, in order, through the runner."""

from __future__ import annotations

import argparse

from wit_pipeline.commands.common import EXIT_OK, add_command
from wit_pipeline.core.errors import InputError


def cmd_run(args: argparse.Namespace) -> int:
    """Run the config's stages (or print a commented default config)."""
    from wit_pipeline.config import default_config_text, load_config
    from wit_pipeline.runner import run_pipeline, run_summary

    if args.print_default_config:
        print(default_config_text())
        return EXIT_OK
    if args.config is None:
        raise InputError("run needs a CONFIG.yaml (or --print-default-config)")
    overrides = {
        "workdir": args.workdir,
        "engine": args.engine,
        "ray_address": args.ray_address,
        "gpus_per_task": args.gpus_per_task,
    }
    config = load_config(args.config, overrides)

    def show(outcome) -> None:
        if not args.quiet:
            print(outcome.describe(), flush=True)

    outcomes = run_pipeline(
        config,
        from_stage=args.from_stage,
        to_stage=args.to_stage,
        force=args.force,
        quiet=bool(args.quiet),
        on_outcome=show,
    )
    summary = run_summary(config, outcomes)
    if not args.quiet:
        print(summary.line())
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `run` to the top-level parser."""
    run = add_command(sub, "run", "run the stages of a YAML config in order (resumable)", cmd_run)
    run.add_argument("config", nargs="?", metavar="CONFIG.yaml", help="the pipeline config")
    run.add_argument("--from", dest="from_stage", metavar="STAGE", help="first stage to run")
    run.add_argument("--to", dest="to_stage", metavar="STAGE", help="last stage to run")
    run.add_argument(
        "--force", action="store_true", help="rerun the selected stages even when up to date"
    )
    run.add_argument(
        "--print-default-config",
        action="store_true",
        help="print a commented config with every option and its default, then exit",
    )

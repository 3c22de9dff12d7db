"""`wit-pipeline filter`: score raw samples (cached), then decide what to keep and why."""

from __future__ import annotations

import argparse

from wit_pipeline.commands.common import (
    add_command,
    non_negative_int,
    positive_float,
    positive_int,
    stage_handler,
)
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.executor import Engine
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.scoring.dedupe_rule import GROUPINGS, DedupeRule

DEDUPE_DEFAULTS = DedupeRule()

NAME = "filter"
HELP = "score raw samples (CLIP, pHash, size, language) and decide what to keep"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The stage's options: flags on the command line, keys of its section in a run config."""
    model = parser.add_argument_group("scoring")
    model.add_argument(
        "--clip-model",
        default="ViT-B-32",
        help="open_clip model name, 'local-dir:FOLDER', or 'none' (default: ViT-B-32)",
    )
    model.add_argument(
        "--pretrained",
        default="openai",
        help="open_clip tag, a weights file, or 'random' (default: openai)",
    )
    model.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    model.add_argument("--batch-size", type=positive_int, default=64, help="(default: 64)")
    model.add_argument(
        "--workers",
        type=non_negative_int,
        default=2,
        help="DataLoader workers decoding images (default: 2)",
    )
    model.add_argument(
        "--processes",
        type=positive_int,
        default=1,
        help="raw shards scored at once (default: 1; torch uses every core)",
    )
    model.add_argument(
        "--save-embeddings",
        action="store_true",
        help="keep normalised image and text embeddings in scores/embeddings/",
    )
    rules = parser.add_argument_group("decisions")
    rules.add_argument(
        "--min-clip-score",
        type=float,
        help="drop pairs below this cosine (LAION: 0.28 with ViT-B/32)",
    )
    rules.add_argument(
        "--keep-fraction",
        type=float,
        help="keep the top fraction by CLIP score instead (DataComp: 0.3)",
    )
    rules.add_argument(
        "--min-image-size",
        type=non_negative_int,
        default=0,
        help="drop images whose smaller side is below this (default: 0)",
    )
    rules.add_argument(
        "--max-aspect-ratio",
        type=positive_float,
        default=3.0,
        help="drop images more elongated than this (default: 3.0)",
    )
    rules.add_argument(
        "--min-caption-words",
        type=non_negative_int,
        default=0,
        help="drop captions with fewer words (default: 0)",
    )
    rules.add_argument("--lang", metavar="CODES", help="keep only these caption languages")
    rules.add_argument(
        "--dedupe-distance",
        type=non_negative_int,
        default=8,
        help="pHash Hamming distance that makes a near duplicate (default: 8, from the "
        "precision/recall study in BENCHMARKS.md)",
    )
    rules.add_argument(
        "--dedupe-colour-distance",
        type=non_negative_int,
        default=DEDUPE_DEFAULTS.max_colour_distance,
        help="a pHash pair counts only if its 128-bit colour hashes are this close (default: "
        f"{DEDUPE_DEFAULTS.max_colour_distance}; look-alike drawings share pHashes at scale)",
    )
    rules.add_argument(
        "--dedupe-grouping",
        choices=GROUPINGS,
        default=DEDUPE_DEFAULTS.grouping,
        help="kept: a duplicate must be close to a sample that is kept (no chains); "
        f"transitive: connected components (default: {DEDUPE_DEFAULTS.grouping})",
    )
    rules.add_argument(
        "--no-dedupe",
        action="store_true",
        help="keep near duplicates (the decontamination check still uses the distance)",
    )
    rules.add_argument(
        "--decontaminate",
        metavar="PATH",
        help="folder (or fsspec URL) of eval images or shards: drop samples that match them",
    )
    phase = parser.add_argument_group("phases")
    phase.add_argument("--score-only", action="store_true", help="only the score phase")
    phase.add_argument(
        "--decide-only", action="store_true", help="only the decide phase (from cached scores)"
    )
    phase.add_argument(
        "--dry-run", action="store_true", help="print the funnel and write no decisions"
    )


def run_stage(workspace: Workspace, args: argparse.Namespace, engine: Engine):
    """Score every raw sample (cached), then decide keep or drop with reasons."""
    from wit_pipeline.scoring.clip import ClipSpec
    from wit_pipeline.stages.filter import DecideOptions, ScoreOptions, filter_stage
    from wit_pipeline.stages.filter.decontaminate import load_eval_sets

    if args.min_clip_score is not None and args.keep_fraction is not None:
        raise InputError("give --min-clip-score or --keep-fraction, not both")
    if args.min_clip_score is not None and not -1.0 <= args.min_clip_score <= 1.0:
        raise InputError(f"--min-clip-score {args.min_clip_score}: a cosine is in [-1, 1]")
    if args.keep_fraction is not None and not 0.0 < args.keep_fraction <= 1.0:
        raise InputError(f"--keep-fraction {args.keep_fraction}: must be in (0, 1]")
    if args.score_only and (args.decide_only or args.dry_run):
        raise InputError("--score-only cannot go with --decide-only or --dry-run")
    clip = None if args.clip_model == "none" else ClipSpec(args.clip_model, args.pretrained)
    score_options = (
        None
        if args.decide_only
        else ScoreOptions(
            clip=clip,
            device=args.device,
            batch_size=args.batch_size,
            workers=args.workers,
            processes=args.processes,
            save_embeddings=args.save_embeddings,
            progress=not args.quiet,
            engine=engine,
        )
    )
    decide_options = (
        None
        if args.score_only
        else DecideOptions(
            min_clip_score=args.min_clip_score,
            keep_fraction=args.keep_fraction,
            min_image_size=args.min_image_size,
            max_aspect_ratio=args.max_aspect_ratio,
            min_caption_words=args.min_caption_words,
            langs=frozenset(x.strip() for x in args.lang.split(",")) if args.lang else None,
            dedupe_distance=args.dedupe_distance,
            dedupe=not args.no_dedupe,
            dedupe_colour_distance=args.dedupe_colour_distance,
            dedupe_grouping=args.dedupe_grouping,
            eval_sets=load_eval_sets(args.decontaminate) if args.decontaminate else (),
        )
    )
    return filter_stage(workspace, score_options, decide_options, dry_run=args.dry_run)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the command to the top-level parser."""
    add_arguments(add_command(sub, NAME, HELP, stage_handler(run_stage)))

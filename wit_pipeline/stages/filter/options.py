"""What a user sets for `filter`: its flags on the command line, its keys in a run config,
and the rules across them, checked before any stage of a run starts."""

from __future__ import annotations

from dataclasses import dataclass

from wit_pipeline.core.errors import InputError
from wit_pipeline.core.options import (
    StageOptions,
    finite_float,
    non_negative_int,
    option,
    positive_float,
    positive_int,
)
from wit_pipeline.scoring.dedupe_rule import GROUPINGS, DedupeRule
from wit_pipeline.stages.filter.device_scoring import DECODE_ON, device_list

SCORING = "scoring"
DECISIONS = "decisions"
PHASES = "phases"
DEDUPE = DedupeRule()


@dataclass(frozen=True)
class Options(StageOptions):
    """The filter stage's options (see ScoreOptions and DecideOptions for each phase's)."""

    clip_model: str = option(
        "ViT-B-32",
        "open_clip model name, 'local-dir:FOLDER', or 'none' (default: ViT-B-32)",
        group=SCORING,
    )
    pretrained: str = option(
        "openai", "open_clip tag, a weights file, or 'random' (default: openai)", group=SCORING
    )
    device: str = option("auto", "", choices=("auto", "cpu", "cuda"), group=SCORING)
    devices: str = option(
        "auto",
        "comma list of devices, one scoring process each: cuda:0,cuda:1 (default: auto, the "
        "--device setting)",
        type=device_list,
        group=SCORING,
    )
    decode_on: str = option(
        "auto",
        "where the CLIP input is decoded and resized: cpu (the workers, PIL) or device (JPEGs "
        "in batches on the model's device, nvJPEG on a GPU); default: auto, device on a GPU",
        choices=DECODE_ON,
        group=SCORING,
    )
    batch_size: int = option(64, "(default: 64)", type=positive_int, group=SCORING)
    workers: int = option(
        2,
        "DataLoader workers decoding images (default: 2)",
        type=non_negative_int,
        group=SCORING,
        runtime=True,
    )
    processes: int = option(
        1,
        "raw shards scored at once (default: 1; torch uses every core)",
        type=positive_int,
        group=SCORING,
        runtime=True,
    )
    save_embeddings: bool = option(
        False, "keep normalised image and text embeddings in scores/embeddings/", group=SCORING
    )
    min_clip_score: float | None = option(
        None,
        "drop pairs below this cosine (LAION: 0.28 with ViT-B/32)",
        type=finite_float,
        group=DECISIONS,
    )
    keep_fraction: float | None = option(
        None,
        "keep the top fraction by CLIP score instead (DataComp: 0.3)",
        type=finite_float,
        group=DECISIONS,
    )
    min_image_size: int = option(
        0,
        "drop images whose smaller side is below this (default: 0)",
        type=non_negative_int,
        group=DECISIONS,
    )
    max_aspect_ratio: float = option(
        3.0,
        "drop images more elongated than this (default: 3.0)",
        type=positive_float,
        group=DECISIONS,
    )
    min_caption_words: int = option(
        0, "drop captions with fewer words (default: 0)", type=non_negative_int, group=DECISIONS
    )
    lang: str | None = option(
        None, "keep only these caption languages", metavar="CODES", group=DECISIONS
    )
    dedupe_distance: int = option(
        DEDUPE.max_distance,
        "pHash Hamming distance that makes a near duplicate, between two whole or unpadded "
        "views of the pictures (default: 8, from the precision/recall study in BENCHMARKS.md)",
        type=non_negative_int,
        group=DECISIONS,
    )
    dedupe_colour_distance: int = option(
        DEDUPE.max_colour_distance,
        "two whole pictures close in pHash count only if their 128-bit colour hashes are "
        f"this close (default: {DEDUPE.max_colour_distance}; look-alike drawings share "
        "pHashes at scale)",
        type=non_negative_int,
        group=DECISIONS,
    )
    dedupe_grouping: str = option(
        DEDUPE.grouping,
        "kept: a duplicate must be close to a sample that is kept (no chains); "
        f"transitive: connected components (default: {DEDUPE.grouping})",
        choices=GROUPINGS,
        group=DECISIONS,
    )
    no_dedupe: bool = option(
        False,
        "keep near duplicates (the decontamination check still uses the distance)",
        group=DECISIONS,
    )
    decontaminate: str | None = option(
        None,
        "folder (or fsspec URL) of eval images or shards: drop samples that match them",
        metavar="PATH",
        group=DECISIONS,
    )
    score_only: bool = option(False, "only the score phase", group=PHASES)
    decide_only: bool = option(False, "only the decide phase (from cached scores)", group=PHASES)
    dry_run: bool = option(False, "print the funnel and write no decisions", group=PHASES)

    def validate(self) -> None:
        """One threshold rule, values in range, phases that can go together."""
        if self.min_clip_score is not None and self.keep_fraction is not None:
            raise InputError("give --min-clip-score or --keep-fraction, not both")
        if self.min_clip_score is not None and not -1.0 <= self.min_clip_score <= 1.0:
            raise InputError(f"--min-clip-score {self.min_clip_score}: a cosine is in [-1, 1]")
        if self.keep_fraction is not None and not 0.0 < self.keep_fraction <= 1.0:
            raise InputError(f"--keep-fraction {self.keep_fraction}: must be in (0, 1]")
        if self.score_only and (self.decide_only or self.dry_run):
            raise InputError("--score-only cannot go with --decide-only or --dry-run")

"""What a user sets for `filter`: its flags on the command line, its keys in a run config,
and the rules across them, checked before any stage of a run starts."""

from __future__ import annotations

from dataclasses import dataclass

from wit_pipeline.core.errors import InputError
from wit_pipeline.core.options import (
    StageOptions,
    finite_float,
    non_negative_float,
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
METADATA = "metadata balancing (MetaCLIP)"
SAFETY = "safety: classifier heads, blocklists, semantic dedupe"
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
        "cpu",
        "where the CLIP input is decoded and resized: cpu (the workers, PIL), device (JPEGs "
        "in batches on the model's device, nvJPEG on a GPU) or auto (device on a GPU); "
        "default: cpu until the device path is measured on a GPU",
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
        "two pictures close in pHash in the same framing (whole, or the same crop) count "
        "only if their 128-bit colour hashes are "
        f"this close (default: {DEDUPE.max_colour_distance}; look-alike drawings share "
        "pHashes at scale)",
        type=non_negative_int,
        group=DECISIONS,
    )
    dedupe_texture_change: float = option(
        DEDUPE.max_texture_change,
        "two pictures matched through a crop, a textured and a flat one, or two flat ones "
        "(drawings) whose pHashes are not near identical count only if their texture "
        "signatures (edge orientations and grain, 0 to 4 apart) are this close "
        f"(default: {DEDUPE.max_texture_change}; 4: no texture check)",
        type=non_negative_float,
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
        input_file=True,
    )
    entries: str | None = option(
        None,
        "entry list (one per line, or MetaCLIP's JSON list): match every caption against it "
        "(substrings between spaces), cached in scores/entries/",
        metavar="FILE",
        group=METADATA,
        input_file=True,
    )
    require_entry: bool = option(
        False, "drop captions that match no entry (no_entry)", group=METADATA
    )
    balance_cap: int | None = option(
        None,
        "keep a sample of an entry matched more than T times with probability T/count; "
        "it stays if any of its entries keeps it (balanced_out; MetaCLIP: 20000 at 400M)",
        type=positive_int,
        metavar="T",
        group=METADATA,
    )
    balance_seed: int = option(
        0,
        "seed of the balancing draws (default: 0)",
        type=non_negative_int,
        metavar="SEED",
        group=METADATA,
    )
    classifier: list[str] = option(
        [],
        "a classifier head over the normalised CLIP image embedding (linear or MLP; torch "
        "state dict or .npz), scored per sample; repeatable",
        metavar="NAME=PATH",
        many=True,
        action="extend",
        group=SAFETY,
        input_file=True,
    )
    drop_if: list[str] = option(
        [],
        "drop samples whose head NAME scores above X (quote it: 'nsfw>0.5'); repeatable",
        metavar="NAME>X",
        many=True,
        action="extend",
        group=SAFETY,
    )
    keep_if: list[str] = option(
        [],
        "keep only samples whose head NAME scores at least X ('aesthetic>=5'); repeatable",
        metavar="NAME>=X",
        many=True,
        action="extend",
        group=SAFETY,
    )
    blocklist: str | None = option(
        None,
        "file of known-bad images: sha256 of the original bytes, or phash:HEX; matches are "
        "dropped as blocklisted and never shown",
        metavar="FILE",
        group=SAFETY,
        input_file=True,
    )
    blocklist_distance: int = option(
        4,
        "pHash Hamming distance that matches a blocklisted pHash (default: 4)",
        type=non_negative_int,
        metavar="BITS",
        group=SAFETY,
    )
    semantic_dedupe: float | None = option(
        None,
        "drop semantic duplicates: samples whose saved image embeddings (--save-embeddings) "
        "have a cosine above 1-EPS with a better one in their k-means cluster (SemDeDup)",
        type=finite_float,
        metavar="EPS",
        group=SAFETY,
    )
    semantic_clusters: int | None = option(
        None,
        "k-means clusters of the semantic dedupe (default: about sqrt(n)/2)",
        type=positive_int,
        metavar="K",
        group=SAFETY,
    )
    semantic_probes: int = option(
        1,
        "clusters each sample is compared in (1: its own, as SemDeDup; more finds pairs split "
        "by a cluster border; default: 1)",
        type=positive_int,
        metavar="P",
        group=SAFETY,
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
        if self.entries is None and (self.require_entry or self.balance_cap is not None):
            raise InputError("--require-entry and --balance-cap need an entry list (--entries)")
        self._validate_safety()

    def _validate_safety(self) -> None:
        """Heads, thresholds and the semantic dedupe: well formed and with a model to score."""
        from wit_pipeline.scoring.heads import HeadSpec
        from wit_pipeline.stages.filter.head_rules import parse_rules

        heads = [HeadSpec.parse(text) for text in self.classifier]
        names = [head.name for head in heads]
        twice = [name for name in names if names.count(name) > 1]
        if twice:
            raise InputError(f"--classifier: the name {twice[0]} is given twice")
        parse_rules(self.drop_if, self.keep_if)
        scoring = not self.decide_only
        if heads and scoring and self.clip_model == "none":
            raise InputError("--classifier needs a CLIP model (not --clip-model none)")
        if self.semantic_dedupe is not None:
            if not 0.0 < self.semantic_dedupe < 1.0:
                raise InputError(f"--semantic-dedupe {self.semantic_dedupe}: must be in (0, 1)")
            if scoring and (self.clip_model == "none" or not self.save_embeddings):
                raise InputError(
                    "--semantic-dedupe reads saved image embeddings: give --save-embeddings "
                    "with a CLIP model"
                )

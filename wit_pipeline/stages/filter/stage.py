"""The filter stage: score every raw sample once (cached per shard), then decide.

`filter` runs both phases; `score_only` and `decide_only` run one. Changing a threshold re-reads
the cached scores; changing the CLIP model forgets the markers of shards scored by another one,
so only their CLIP columns are computed again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from wit_pipeline.core.errors import InputError
from wit_pipeline.core.executor import Engine, Unit, forget_units, mark_stage_done, run_units
from wit_pipeline.core.markers import Markers
from wit_pipeline.core.options import codes, same_named
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.scoring.clip import ClipSpec
from wit_pipeline.scoring.entries import EntryList, load_entries
from wit_pipeline.scoring.heads import HeadSpec, load_head
from wit_pipeline.stages.filter.decide import DecideOptions, Decisions, decide
from wit_pipeline.stages.filter.device_scoring import parse_devices
from wit_pipeline.stages.filter.options import Options
from wit_pipeline.stages.filter.score import FACTS_VERSION, ScoreJob, raw_fingerprint, score_shard


@dataclass(frozen=True)
class ScoreOptions:
    """How to score: the CLIP model (None for no CLIP), device, batching, parallelism."""

    clip: ClipSpec | None = field(default_factory=ClipSpec)
    device: str = "auto"
    devices: str = "auto"
    """Comma list of devices (cuda:0,cuda:1), shards spread over them; auto: `device`."""
    decode_on: str = "auto"
    batch_size: int = 64
    workers: int = 2
    processes: int = 1
    save_embeddings: bool = False
    entries: EntryList | None = None
    heads: tuple[HeadSpec, ...] = ()
    progress: bool = True
    engine: Engine = field(default_factory=Engine)


@dataclass
class FilterSummary:
    """What a filter run did."""

    shards: int = 0
    scored: int = 0
    cached: int = 0
    decisions: Decisions | None = None
    written: bool = False
    seconds: float = 0.0
    dry_run: bool = False
    """A dry run's summary is its output: shown even under -q, and no run record is kept."""

    def line(self) -> str:
        """One summary line for people."""
        text = f"scored {self.scored} shards ({self.cached} cached) of {self.shards}"
        if self.decisions is not None:
            text += f"; {self.decisions.line()}"
            text += "" if self.written else " (dry run: nothing written)"
        return text + f"; {self.seconds:.1f} s"


def _raw_shards(workspace: Workspace) -> list[str]:
    raw_markers = Markers(workspace.raw_dir)
    shards = [p.stem for p in sorted(workspace.raw_dir.glob("[0-9]*.parquet"))]
    if not shards:
        raise InputError(f"{workspace.raw_dir}: no raw shards; run download first")
    unfinished = [s for s in shards if not raw_markers.is_done(s)]
    if unfinished:
        raise InputError(
            f"{workspace.raw_dir}: shard {unfinished[0]} is not finished; run download again first"
        )
    return shards


def score(
    workspace: Workspace, options: ScoreOptions, shards: list[str] | None = None
) -> tuple[int, int]:
    """Score every raw shard not yet scored by this model: (shards scored, shards cached)."""
    start = time.monotonic()
    shards = shards if shards is not None else _raw_shards(workspace)
    markers = Markers(workspace.scores_dir)
    wanted = options.clip.model_id if options.clip else None
    head_shas = {head.name: head.fingerprint() for head in options.heads}
    for head in options.heads:
        load_head(head)  # every head file checked before any shard is scored
    heads_only = set()
    for shard in shards:
        info = markers.info(shard)
        if info is None:
            continue
        stale = info.get("facts") != FACTS_VERSION
        if stale or info.get("raw") != raw_fingerprint(workspace.raw_dir, shard):
            # the raw shard was rewritten since (e.g. by download --retry-failed), or scored
            # by a version that computed other facts: start over
            forget_units(workspace.scores_dir, [shard])
            (workspace.scores_dir / f"{shard}.parquet").unlink(missing_ok=True)
        else:
            other_model = wanted is not None and info.get("clip_model") != wanted
            other_heads = not head_shas.items() <= info.get("heads", {}).items()
            if other_model or other_heads:
                forget_units(workspace.scores_dir, [shard])
            if other_heads and not other_model:
                heads_only.add(shard)
    devices = parse_devices(options.devices) or [options.device]
    jobs = [
        ScoreJob(
            shard=s,
            raw_dir=str(workspace.raw_dir),
            scores_dir=str(workspace.scores_dir),
            clip=options.clip,
            device=devices[n % len(devices)],
            batch_size=options.batch_size,
            workers=options.workers,
            save_embeddings=options.save_embeddings,
            heads=tuple((head, head_shas[head.name]) for head in options.heads),
            heads_only=s in heads_only,
            decode_on=options.decode_on,
        )
        for n, s in enumerate(shards)
    ]
    result = run_units(
        workspace.scores_dir,
        [Unit(j.shard, j) for j in jobs],
        score_shard,
        processes=max(options.processes, len(devices)),
        desc="score",
        progress=options.progress,
        engine=options.engine,
        gpus_per_task=options.engine.gpus_per_task,
    )
    mark_stage_done(
        workspace.scores_dir,
        {
            "clip_model": wanted,
            "shards": len(shards),
            "seconds": round(time.monotonic() - start, 3),
        },
    )
    return len(shards) - len(result.skipped), len(result.skipped)


def filter_stage(
    workspace: Workspace,
    score_options: ScoreOptions | None,
    decide_options: DecideOptions | None,
    dry_run: bool = False,
) -> FilterSummary:
    """Run the score phase (unless None), then the decide phase (unless None)."""
    start = time.monotonic()
    shards = _raw_shards(workspace)
    if not dry_run or score_options is not None:  # scoring writes, dry run or not
        workspace.prepare()
    summary = FilterSummary(shards=len(shards))
    if score_options is not None:
        summary.scored, summary.cached = score(workspace, score_options, shards)
        if score_options.entries is not None:
            from wit_pipeline.stages.filter.entries import match_entries

            match_entries(
                workspace.raw_dir,
                workspace.scores_dir,
                score_options.entries,
                shards,
                score_options.engine,
                score_options.processes,
            )
    if decide_options is not None:
        target = None if dry_run else workspace.decisions_path
        summary.decisions = decide(workspace.raw_dir, workspace.scores_dir, decide_options, target)
        summary.written = not dry_run
    summary.dry_run = dry_run
    summary.seconds = time.monotonic() - start
    return summary


def run(workspace: Workspace, options: Options, engine: Engine) -> FilterSummary:
    """The stage's entry point: score every raw sample (cached), then decide with reasons."""
    from wit_pipeline.stages.filter.blocklist import load_blocklist
    from wit_pipeline.stages.filter.decontaminate import load_eval_sets
    from wit_pipeline.stages.filter.head_rules import parse_rules

    entries = load_entries(options.entries) if options.entries else None
    none = options.clip_model == "none"
    clip = None if none else ClipSpec(options.clip_model, options.pretrained)
    score_options = same_named(
        ScoreOptions,
        options,
        clip=clip,
        entries=entries,
        heads=tuple(HeadSpec.parse(text) for text in options.classifier),
        progress=engine.progress,
        engine=engine,
    )
    decide_options = same_named(
        DecideOptions,
        options,
        langs=codes(options.lang),
        dedupe=not options.no_dedupe,
        eval_sets=load_eval_sets(options.decontaminate) if options.decontaminate else (),
        entries=entries,
        head_rules=parse_rules(options.drop_if, options.keep_if),
        blocklist=(
            load_blocklist(options.blocklist, options.blocklist_distance)
            if options.blocklist
            else None
        ),
    )
    return filter_stage(
        workspace,
        None if options.decide_only else score_options,
        None if options.score_only else decide_options,
        dry_run=options.dry_run,
    )

"""The adopt stage: an img2dataset output folder -> raw/, one executor unit per shard.

Every shard not yet adopted is checked first (parquet, stats, images; see check.py); a damaged
one is named on its own line and, unless `skip_damaged`, nothing is written. The sound shards are
then copied into raw/ with completion markers, so a killed run resumes by shard and filter,
shard, report and sql read them as they read a download. The folder is read where it lies (a
local path or any fsspec URL) and copied, never changed.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field

from wit_pipeline.core import storage
from wit_pipeline.core.atomic import write_json_atomic
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.executor import Engine, Unit, mark_stage_done, run_units
from wit_pipeline.core.markers import Markers
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.adopt.check import ShardDamaged, ShardFacts, check_shard
from wit_pipeline.stages.adopt.layout import PLAN_FILE, source_record
from wit_pipeline.stages.adopt.options import Options
from wit_pipeline.stages.adopt.source import SourceShard, find_shards
from wit_pipeline.stages.adopt.work import AdoptJob, adopt_shard

log = logging.getLogger(__name__)


@dataclass
class AdoptSummary:
    """What an adopt run did."""

    source: str
    shards: int = 0
    adopted: int = 0
    resumed: int = 0
    rows: int = 0
    successes: int = 0
    damaged: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def line(self) -> str:
        """One summary line for people."""
        left = f"; {len(self.damaged)} damaged shards left out" if self.damaged else ""
        return (
            f"adopted {self.shards - len(self.damaged)} of {self.shards} shards from "
            f"{self.source} ({self.adopted} copied, {self.resumed} resumed): {self.rows:,} rows, "
            f"{self.successes:,} images{left}; {self.seconds:.1f} s"
        )


def _refuse_other(workspace: Workspace, source: str) -> None:
    """InputError when raw/ holds a download or a folder adopted from elsewhere."""
    raw = workspace.raw_dir
    record = source_record(workspace)
    if (raw / PLAN_FILE).is_file() or (
        any(raw.glob("[0-9]*.parquet")) and not storage.exists(record)
    ):
        raise InputError(f"{raw}: holds a download; pass --overwrite to replace it")
    if storage.exists(record):
        adopted = json.loads(storage.read_bytes(record))["source"]
        if adopted != source:
            raise InputError(
                f"{raw}: adopted from {adopted}, not {source}; pass --overwrite to replace it"
            )


def _checked(
    shards: list[SourceShard], done: set[str]
) -> tuple[dict[str, ShardFacts], dict[str, str]]:
    """Facts of every sound shard not adopted yet, and why each damaged one is refused."""
    facts, damaged = {}, {}
    for shard in shards:
        if shard.name in done:
            continue
        try:
            facts[shard.name] = check_shard(shard)
        except ShardDamaged as exc:
            damaged[shard.name] = str(exc)
            log.error("adopt: shard %s refused: %s", shard.name, exc)
    return facts, damaged


def adopt(workspace: Workspace, options: Options, engine: Engine) -> AdoptSummary:
    """Adopt every shard of `options.path` into raw/; resumes by shard."""
    start = time.monotonic()
    source = options.path.rstrip("/") or options.path
    shards = find_shards(source)
    raw = workspace.raw_dir
    if not options.overwrite:
        _refuse_other(workspace, source)
    done = set() if options.overwrite else set(Markers(raw).done_units())
    facts, damaged = _checked(shards, done)
    if damaged and not options.skip_damaged:
        first = next(iter(damaged.items()))
        raise InputError(
            f"{source}: {len(damaged)} of {len(shards)} shards damaged (first: {first[0]}: "
            f"{first[1]}); nothing adopted from them; pass --skip-damaged to adopt the others"
        )
    if options.overwrite and raw.is_dir():
        shutil.rmtree(raw)
    workspace.prepare()
    write_json_atomic(source_record(workspace), {"source": source})
    units = [
        Unit(
            s.name,
            AdoptJob(s, facts[s.name], str(raw), options.resize_mode) if s.name in facts else None,
        )
        for s in shards
        if s.name not in damaged
    ]
    result = run_units(
        raw,
        units,
        adopt_shard,
        processes=options.processes,
        desc="adopt",
        progress=engine.progress,
        engine=engine,
    )
    adopted = [result.infos[s.name] for s in shards if s.name in result.infos]
    summary = AdoptSummary(
        source=source,
        shards=len(shards),
        adopted=len(result.infos) - len(result.skipped),
        resumed=len(result.skipped),
        rows=sum(int(info.get("count", 0)) for info in adopted),
        successes=sum(int(info.get("successes", 0)) for info in adopted),
        damaged=damaged,
    )
    summary.seconds = time.monotonic() - start
    mark_stage_done(
        raw,
        {
            "rows": summary.rows,
            "status": {"success": summary.successes},
            "adopted_from": source,
            "damaged": damaged,
            "seconds": round(summary.seconds, 3),
        },
    )
    return summary


def run(workspace: Workspace, options: Options, engine: Engine) -> AdoptSummary:
    """The stage's entry point: adopt the img2dataset output folder into raw/."""
    return adopt(workspace, options, engine)

"""The one runner that chains stages: `wit-pipeline run`, the demo and the Airflow DAG use it.

Each stage runs through its command module's `run_stage`, the same function its own command
calls. After a stage finishes, the runner records what it ran with in `W/.runner/STAGE.json`;
a later run skips a stage whose record matches its options and whose upstream stages were not
rerun, so running a config twice does nothing the second time, and a run killed midway
resumes (the stages themselves resume unit by unit).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wit_pipeline.catalog import refresh_catalog
from wit_pipeline.commands.common import resolve_engine
from wit_pipeline.config import STAGES, PipelineConfig, stage_module
from wit_pipeline.core.atomic import write_json_atomic
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass
class StageOutcome:
    """What the runner did with one stage: ran it (with its summary line) or skipped it."""

    stage: str
    ran: bool
    line: str
    seconds: float = 0.0

    def describe(self) -> str:
        """`stage: summary` for people."""
        return f"{self.stage}: {self.line}"


def _record_path(workspace: Workspace, stage: str) -> Path:
    return workspace.root / ".runner" / f"{stage}.json"


def _fingerprint_json(config: PipelineConfig, stage: str) -> str:
    return json.dumps(config.fingerprint(stage), sort_keys=True, default=str)


def _up_to_date(workspace: Workspace, config: PipelineConfig, stage: str) -> dict | None:
    """The stage's record when it finished before with the same options, else None."""
    path = _record_path(workspace, stage)
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    return record if record.get("options") == _fingerprint_json(config, stage) else None


def select_stages(
    config: PipelineConfig, from_stage: str | None = None, to_stage: str | None = None
) -> list[str]:
    """The config's stages from `from_stage` to `to_stage` (inclusive), in pipeline order."""
    stages = config.stages()
    for name, flag in ((from_stage, "--from"), (to_stage, "--to")):
        if name is not None and name not in stages:
            raise InputError(f"{flag} {name}: not a stage of this config ({', '.join(stages)})")
    start = stages.index(from_stage) if from_stage else 0
    end = stages.index(to_stage) + 1 if to_stage else len(stages)
    if start >= end:
        raise InputError(f"--from {from_stage} comes after --to {to_stage}")
    return stages[start:end]


def run_stage(
    config: PipelineConfig,
    stage: str,
    *,
    force: bool = False,
    upstream_ran: bool = False,
    quiet: bool = False,
) -> StageOutcome:
    """Run one stage of `config` unless it is up to date (same options, upstream unchanged)."""
    workspace = Workspace.at(config.workdir)
    record = None if force or upstream_ran else _up_to_date(workspace, config, stage)
    if record is not None:
        return StageOutcome(stage, False, f"up to date (finished {record['finished']}), skipped")
    args = argparse.Namespace(**vars(config.sections[stage]), quiet=int(quiet), verbose=0)
    engine = resolve_engine(config.engine, config.ray_address, config.gpus_per_task, args)
    start = time.monotonic()
    summary = stage_module(stage).run_stage(workspace, args, engine)
    seconds = time.monotonic() - start
    for later in STAGES[STAGES.index(stage) + 1 :]:
        # what comes after a stage that ran again is stale until it runs again too
        _record_path(workspace, later).unlink(missing_ok=True)
    refresh_catalog(workspace)
    line = summary.line()
    write_json_atomic(
        _record_path(workspace, stage),
        {
            "options": _fingerprint_json(config, stage),
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            "seconds": round(seconds, 3),
            "summary": line,
        },
    )
    return StageOutcome(stage, True, line, seconds)


def run_pipeline(
    config: PipelineConfig,
    *,
    from_stage: str | None = None,
    to_stage: str | None = None,
    force: bool = False,
    quiet: bool = False,
    on_outcome: Callable[[StageOutcome], Any] | None = None,
) -> list[StageOutcome]:
    """Run the selected stages in order; a stage reruns when its options changed or a stage
    before it ran in this call. `on_outcome` sees each outcome as it happens."""
    outcomes: list[StageOutcome] = []
    upstream_ran = False
    for stage in select_stages(config, from_stage, to_stage):
        outcome = run_stage(config, stage, force=force, upstream_ran=upstream_ran, quiet=quiet)
        upstream_ran = upstream_ran or outcome.ran
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes

"""The one runner of stages: every command that runs a stage, `wit-pipeline run`, the demo and
the Airflow DAG go through `execute`, which runs the stage and then, in one place, forgets the
records of the stages after it, refreshes the catalog, records the options it ran with in
`W/.runner/STAGE.json` and logs the summary (a JSON line under `--log-json`).

`run_pipeline` chains a config's stages: a stage is skipped when its record holds the same
options, no stage before it ran in this call, and its outputs are complete (as its layout
declares them), so running a config twice does nothing the second time; a run killed midway
resumes (the stages themselves resume unit by unit). The record says only which options made
the outputs; whether they are complete is the stage's own markers' to say.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wit_pipeline.catalog import refresh_catalog
from wit_pipeline.config import STAGES, PipelineConfig
from wit_pipeline.core.atomic import write_json_atomic
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.executor import Engine
from wit_pipeline.core.lock import lease_problem, stage_lock
from wit_pipeline.core.logs import json_value, log_summary
from wit_pipeline.core.options import StageOptions
from wit_pipeline.core.stage import Stage
from wit_pipeline.core.status import COMPLETE, output_status
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages import stage_named

log = logging.getLogger(__name__)
RECORDS_DIR = ".runner"


@dataclass
class StageOutcome:
    """What the runner did with one stage: ran it (with its summary) or skipped it."""

    stage: str
    ran: bool
    line: str
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    """The summary's fields as JSON data (what `--log-json` prints)."""
    quiet_output: bool = False
    """The summary is the command's output (a dry run): shown even under -q."""

    def describe(self) -> str:
        """`stage: summary` for people."""
        return f"{self.stage}: {self.line}"


def _record_path(workspace: Workspace, stage: str) -> Path:
    return workspace.root / RECORDS_DIR / f"{stage}.json"


def _fingerprint(options: StageOptions) -> str:
    return json.dumps(options.fingerprint(), sort_keys=True, default=str)


def _outputs_complete(workspace: Workspace, stage: Stage, options: StageOptions) -> bool:
    """Whether every output the stage declares is complete in the workspace (outputs sent
    elsewhere with `out` are the stage's own to resume)."""
    if getattr(options, "out", None):
        return True
    return all(
        output_status(workspace, output, stage.suggestion, True).state == COMPLETE
        for output in stage.outputs
    )


def up_to_date(workspace: Workspace, stage: Stage, options: StageOptions) -> dict | None:
    """The stage's record when it ran before with the same options and its outputs are
    complete, else None."""
    path = _record_path(workspace, stage.name)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except ValueError:
        return None
    if record.get("options") != _fingerprint(options):
        return None
    return record if _outputs_complete(workspace, stage, options) else None


def execute(
    workspace: Workspace, stage: Stage, options: StageOptions, engine: Engine
) -> StageOutcome:
    """Run one stage, then do what follows every stage run: later records forgotten, catalog
    refreshed, options recorded, summary logged. On a workspace on object storage, what the
    run wrote is uploaded before its lease ends (also when it fails: finished units are kept)."""
    if workspace.remote and not stage.on_object_storage:
        raise InputError(
            f"{workspace.remote}: {stage.name} does not run on a workspace on object storage "
            "yet; run it on a local or shared --workdir (scrape, download, filter, shard, "
            "report, status and sql run there)"
        )
    start = time.monotonic()
    with stage_lock(workspace.root, stage.name, workspace.remote):
        try:
            summary = stage.run(workspace, options, engine)
            seconds = time.monotonic() - start
            line = _record(workspace, stage, options, summary, seconds)
        except BaseException:
            _push_after_failure(workspace)
            raise
        problem = lease_problem()
        if problem is not None:
            raise InputError(
                f"{workspace.name}: {stage.name} lost its lease ({problem}); what it wrote "
                "last is not uploaded: run it again when the other run ends"
            )
        workspace.push()
    log_summary(summary, stage=stage.name)
    dry_run = bool(getattr(summary, "dry_run", False))
    return StageOutcome(stage.name, True, line, seconds, json_value(summary) or {}, dry_run)


def _record(
    workspace: Workspace, stage: Stage, options: StageOptions, summary: Any, seconds: float
) -> str:
    """After a run: the records of later stages forgotten, the catalog refreshed, the options
    recorded; the summary line."""
    dry_run = bool(getattr(summary, "dry_run", False))
    line = summary.line()
    if not dry_run:
        for later in STAGES[STAGES.index(stage.name) + 1 :]:
            # what comes after a stage that ran again is stale until it runs again too
            _record_path(workspace, later).unlink(missing_ok=True)
    if workspace.exists():
        refresh_catalog(workspace)
    if not dry_run:
        write_json_atomic(
            _record_path(workspace, stage.name),
            {
                "options": _fingerprint(options),
                "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
                "seconds": round(seconds, 3),
                "summary": line,
            },
        )
    return line


def _push_after_failure(workspace: Workspace) -> None:
    """Upload what a failed run finished (not when it lost its lease: another run writes
    now); a failing upload is logged, not raised over the run's own error."""
    if lease_problem() is not None:
        return
    try:
        workspace.push()
    except Exception as exc:
        log.error("%s: could not upload what this run finished: %s", workspace.name, exc)


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
    """Run one stage of `config` unless it is up to date (same options, outputs complete,
    nothing before it ran in this call)."""
    workspace = Workspace.at(config.workdir)
    declared = stage_named(stage)
    options = config.sections[stage]
    record = None if force or upstream_ran else up_to_date(workspace, declared, options)
    if record is not None:
        return StageOutcome(stage, False, f"up to date (finished {record['finished']}), skipped")
    engine = Engine.resolve(
        config.engine,
        config.ray_address,
        config.gpus_per_task,
        required=options.required_engine(),
        progress=not quiet,
    )
    return execute(workspace, declared, options, engine)


@dataclass
class RunSummary:
    """What `run_pipeline` did: the stages that ran and those skipped as up to date."""

    workdir: str
    ran: list[str]
    skipped: list[str]
    seconds: float

    def line(self) -> str:
        """One summary line for people."""
        total = len(self.ran) + len(self.skipped)
        if not self.ran:
            return f"run: nothing to do, all {total} stages up to date in {self.workdir}"
        names = ", ".join(self.ran)
        return f"run: {len(self.ran)} of {total} stages ran ({names}) in {self.seconds:.1f} s"


def run_pipeline(
    config: PipelineConfig,
    *,
    from_stage: str | None = None,
    to_stage: str | None = None,
    force: bool = False,
    quiet: bool = False,
    on_outcome: Callable[[StageOutcome], Any] | None = None,
) -> list[StageOutcome]:
    """Run the selected stages in order; a stage reruns when its options changed, its outputs
    are incomplete or a stage before it ran in this call. `on_outcome` sees each outcome."""
    outcomes: list[StageOutcome] = []
    upstream_ran = False
    for stage in select_stages(config, from_stage, to_stage):
        outcome = run_stage(config, stage, force=force, upstream_ran=upstream_ran, quiet=quiet)
        upstream_ran = upstream_ran or outcome.ran
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes


def run_summary(config: PipelineConfig, outcomes: list[StageOutcome]) -> RunSummary:
    """The summary of a `run_pipeline` call, logged (a JSON line under `--log-json`)."""
    summary = RunSummary(
        workdir=str(config.workdir),
        ran=[o.stage for o in outcomes if o.ran],
        skipped=[o.stage for o in outcomes if not o.ran],
        seconds=sum(o.seconds for o in outcomes),
    )
    log_summary(summary, stage="run")
    return summary

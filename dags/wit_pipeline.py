"""Airflow 3 DAG `wit_pipeline`: the pipeline's stages as tasks, each one call of the runner.

Every task builds the run's config from the DAG params (`pipeline_config`) and calls
`wit_pipeline.runner.run_stage`, the function `wit-pipeline run` chains: no stage logic lives
here. The runner's per-stage records make a task that finished before with the same options a
no-op, so a rerun after success does nothing and a rerun after a failure resumes. Each task
logs its stage's summary as a JSON line and returns it, with `changed`, through XCom: a stage
reruns when a stage before it wrote anything in this DAG run, as it would under
`wit-pipeline run`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Param, XComArg, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException


@contextlib.contextmanager
def _dags_folder_hidden() -> Iterator[None]:
    """Keep this file's folder off `sys.path` while importing the package: Airflow puts the
    DAGs folder on it, where this file (named as the issue asks) would shadow `wit_pipeline`."""
    here = Path(__file__).resolve().parent
    saved = list(sys.path)
    sys.path[:] = [entry for entry in saved if Path(entry or ".").resolve() != here]
    try:
        yield
    finally:
        sys.path[:] = saved


with _dags_folder_hidden():
    from wit_pipeline.config import STAGES, PipelineConfig, config_from_dict
    from wit_pipeline.core.errors import InputError
    from wit_pipeline.runner import StageOutcome, run_stage

log = logging.getLogger(__name__)

CHAIN = [stage for stage in STAGES if stage not in ("train", "adopt")]
"""The stages this wit-pipeline offers, in order; train hangs off the end behind its param.
adopt (an existing img2dataset folder instead of scrape and download) is not a task: run it
once from the command line, then this DAG with scrape and download off."""

SOURCE = "wit_pipeline DAG params"
"""How validation messages name the params."""
GLOBAL_PARAMS = ("workdir", "engine", "ray_address")
FILTER_PARAMS = ("min_clip_score", "keep_fraction", "dedupe_distance", "clip_model", "pretrained")

PARAMS = {
    "workdir": Param(
        type="string",
        minLength=1,
        description="Workspace folder, the same path on every worker (absolute), or its URL "
        "on object storage (s3://bucket/w).",
    ),
    "sources": Param(
        None,
        type=["null", "array"],
        items={"type": "string"},
        minItems=1,
        description="What scrape reads: .html files or folders, .warc[.gz], .wat[.gz], "
        "http(s) seeds. Null: config.scrape.sources.",
    ),
    "min_clip_score": Param(
        None,
        type=["null", "number"],
        description="Keep samples whose CLIP score reaches this (LAION: 0.28 for ViT-B-32).",
    ),
    "keep_fraction": Param(
        None,
        type=["null", "number"],
        exclusiveMinimum=0,
        maximum=1,
        description="Keep this best-scoring fraction instead of a fixed threshold (DataComp).",
    ),
    "dedupe_distance": Param(
        None,
        type=["null", "integer"],
        minimum=0,
        description="Near duplicates: pHash bits apart (null: the filter default, 8).",
    ),
    "clip_model": Param(
        None,
        type=["null", "string"],
        description="open_clip model name, local-dir:FOLDER or none (null: ViT-B-32).",
    ),
    "pretrained": Param(
        None,
        type=["null", "string"],
        description="open_clip weights tag, a checkpoint path or random (null: openai).",
    ),
    "engine": Param(
        None,
        type=["null", "string"],
        enum=[None, "local", "ray"],
        description="Where units run: local process pools or Ray tasks (null: local).",
    ),
    "ray_address": Param(
        None,
        type=["null", "string"],
        description="With engine ray: the cluster to join, as ray.init takes it ('auto' from a "
        "node of the cluster); null starts a local Ray inside the task.",
    ),
    "train": Param(
        False,
        type="boolean",
        description="Run the train stage after the others (when this wit-pipeline has one).",
    ),
    "config": Param(
        {},
        type="object",
        description="Any other option, laid out as a `wit-pipeline run` config "
        "({stage: {option: value}} and global keys); the params above win when not null.",
    ),
}


def pipeline_config(params: Mapping[str, Any]) -> PipelineConfig:
    """The run's config: the `config` param with the named params (those not null) on top,
    validated by the runner's own `config_from_dict`."""
    data = copy.deepcopy(dict(params.get("config") or {}))
    data.update({key: params[key] for key in GLOBAL_PARAMS if params.get(key) is not None})
    _set_option(data, "scrape", "sources", params.get("sources"))
    for key in FILTER_PARAMS:
        _set_option(data, "filter", key, params.get(key))
    if "report" in STAGES:
        data.setdefault("report", {})
    if params.get("train"):
        if "train" not in STAGES:
            raise InputError(f"{SOURCE}: train: this wit-pipeline has no train stage")
        data.setdefault("train", {})
    return config_from_dict(data, SOURCE)


def _set_option(data: dict[str, Any], stage: str, key: str, value: Any) -> None:
    if value is None:
        return
    if data.get(stage) in (None, True):
        data[stage] = {}
    if isinstance(data[stage], dict):
        data[stage][key] = value


def stage_task(stage: str) -> Callable[..., XComArg]:
    """The task that runs `stage` through the runner; it takes the upstream task's result."""

    @task(task_id=stage, multiple_outputs=False)
    def run(upstream: dict[str, Any] | None = None) -> dict[str, Any]:
        changed = bool(upstream and upstream["changed"])
        try:
            config = pipeline_config(get_current_context()["params"])
            if stage in config.sections:
                outcome = run_stage(config, stage, upstream_ran=changed, quiet=True)
            else:
                outcome = StageOutcome(stage, False, f"off in this config ({stage}: false)")
        except InputError as exc:
            raise AirflowFailException(str(exc)) from exc
        log.info("%s", outcome.describe())
        result = {
            "stage": stage,
            "ran": outcome.ran,
            "changed": changed or outcome.ran,
            "line": outcome.line,
            "summary": outcome.summary,
        }
        # the stage's summary as one JSON line in the task log, as `--log-json` prints it
        log.info("%s", json.dumps({"event": "summary", **result}, default=str))
        return result

    return run


@task.short_circuit
def train_requested() -> bool:
    """Whether this run trains (param `train`); false skips the train task."""
    return bool(get_current_context()["params"]["train"])


@dag(
    dag_id="wit_pipeline",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    params=PARAMS,
    tags=["wit-pipeline"],
    doc_md=__doc__,
)
def wit_pipeline() -> None:
    """scrape -> download -> filter -> shard -> report (those the runner offers), then train
    when the param asks for it."""
    result = None
    for stage in CHAIN:
        result = stage_task(stage)(result)
    if "train" in STAGES:
        result >> train_requested() >> stage_task("train")(result)


wit_pipeline()

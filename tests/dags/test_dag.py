"""The Airflow DAG: parsed as a deployment parses it, then run with `dag.test()` against the test
web on one workdir: a full run, a no-op rerun, a run failing on bad input without retries, a
run with a changed threshold that reruns filter and, because filter ran, the stages after it,
and one whose config turns shard off."""

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workspaces import pipeline_config
from wit_pipeline.config import STAGES

DAGS = Path(__file__).resolve().parents[2] / "dags"
SESSION_SCRIPT = Path(__file__).with_name("airflow_session.py")
CHAIN = [stage for stage in STAGES if stage not in ("train", "adopt")]


@pytest.fixture(scope="session")
def airflow_env(tmp_path_factory) -> dict[str, str]:
    """The environment of an Airflow with its own AIRFLOW_HOME and a migrated SQLite database."""
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "NO_ALBUMENTATIONS_UPDATE": "1",
    }
    airflow = Path(sys.executable).with_name("airflow")
    _run_checked([str(airflow), "db", "migrate"], env, home)
    return env


def _run_checked(command: list[str], env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-3000:]}")


def _airflow_session(env: dict[str, str], *args: str) -> dict:
    """Run airflow_session.py outside the repository (as a deployment would) and read its JSON."""
    home = Path(env["AIRFLOW_HOME"])
    out = home / "session.json"
    _run_checked([sys.executable, str(SESSION_SCRIPT), *args, str(out)], env, home)
    return json.loads(out.read_text())


def _conf(testweb, workdir: Path, **params) -> dict:
    """DAG params for the test web: named params on top of a config with quick settings."""
    config = {
        "scrape": {"allow_private_networks": True, "rate": 200, "max_depth": 3},
        "download": pipeline_config(testweb, workdir)["download"],
        "filter": {"workers": 0},
        "shard": {"samples_per_shard": 16},
    }
    return {
        "workdir": str(workdir),
        "sources": [f"{testweb.base_url}index.html"],
        "clip_model": "none",
        "config": config,
        **params,
    }


@pytest.fixture(scope="module")
def dag_runs(airflow_env, testweb, tmp_path_factory) -> dict[str, dict]:
    """Five `dag.test()` runs on one workdir in turn, each with what the workdir held after it."""
    workdir = tmp_path_factory.mktemp("dag") / "w"
    shard_off = _conf(testweb, workdir, dedupe_distance=4)
    shard_off["config"]["shard"] = False
    runs = {
        "first": _conf(testweb, workdir),
        "again": _conf(testweb, workdir),
        "bad_input": _conf(testweb, workdir, min_clip_score=0.3),
        "new_threshold": _conf(testweb, workdir, dedupe_distance=2),
        "shard_off": shard_off,
    }
    path = Path(airflow_env["AIRFLOW_HOME"]) / "runs.json"
    path.write_text(json.dumps(runs))
    return _airflow_session(airflow_env, "run", str(path))


def test_dag_parses_outside_the_repo_with_its_tasks_and_params(airflow_env):
    described = _airflow_session(airflow_env, "describe")
    assert described["import_errors"] == {}
    assert described["dag_ids"] == ["wit_pipeline"]
    expected = {stage: [before] for before, stage in itertools.pairwise(CHAIN)}
    expected[CHAIN[0]] = []
    if "train" in STAGES:
        expected |= {"train_requested": [CHAIN[-1]], "train": [CHAIN[-1], "train_requested"]}
    tasks = described["tasks"]
    assert {task: facts["upstream"] for task, facts in tasks.items()} == expected
    assert {facts["retries"] for facts in tasks.values()} == {2}
    assert described["max_active_runs"] == 1
    params = described["params"]
    assert set(params) == {
        "workdir",
        "sources",
        "min_clip_score",
        "keep_fraction",
        "dedupe_distance",
        "clip_model",
        "pretrained",
        "engine",
        "ray_address",
        "train",
        "config",
    }
    assert params["engine"]["enum"] == [None, "local", "ray"]
    assert params["config"]["type"] == "object"


def test_first_run_succeeds_end_to_end_and_shards_verify(dag_runs):
    run = dag_runs["first"]
    outputs = run["outputs"]
    assert run["state"] == "success"
    assert {run["tasks"][stage] for stage in CHAIN} == {"success"}
    if "train" in STAGES:
        assert run["tasks"]["train"] == "skipped"
    assert all(run["results"][stage]["ran"] for stage in CHAIN)
    assert outputs["problems"] == []
    assert outputs["sharded"] == outputs["kept"] > 0
    # each task returns its stage's summary as JSON data, the fields --log-json prints
    assert run["results"]["shard"]["summary"]["samples"] == outputs["sharded"]
    assert run["results"]["download"]["summary"]["rows"] > 0


def test_second_run_on_the_same_workdir_does_nothing(dag_runs):
    run = dag_runs["again"]
    assert run["state"] == "success"
    assert [run["results"][stage]["ran"] for stage in CHAIN] == [False] * len(CHAIN)
    assert all("up to date" in run["results"][stage]["line"] for stage in CHAIN)
    assert run["outputs"] == dag_runs["first"]["outputs"]


def test_bad_input_fails_its_task_at_once_without_retries(dag_runs):
    run = dag_runs["bad_input"]
    assert run["state"] == "failed"
    assert (run["tasks"]["filter"], run["tries"]["filter"]) == ("failed", 1)
    assert run["tasks"]["shard"] == "upstream_failed"
    assert [run["results"][stage]["ran"] for stage in ("scrape", "download")] == [False, False]
    assert run["outputs"] == dag_runs["first"]["outputs"]


def test_changed_threshold_reruns_filter_and_because_it_ran_the_stages_after_it(dag_runs):
    run = dag_runs["new_threshold"]
    outputs = run["outputs"]
    assert run["state"] == "success"
    assert [run["results"][stage]["ran"] for stage in CHAIN] == [
        stage not in ("scrape", "download") for stage in CHAIN
    ]
    assert outputs["problems"] == []
    assert outputs["sharded"] == outputs["kept"] > 0


def test_a_stage_turned_off_passes_on_that_filter_ran(dag_runs):
    run = dag_runs["shard_off"]
    assert run["state"] == "success"
    assert run["results"]["filter"]["ran"]
    shard = run["results"]["shard"]
    assert shard["line"] == "off in this config (shard: false)"
    assert (shard["ran"], shard["changed"]) == (False, True)
    assert all(run["results"][stage]["ran"] for stage in CHAIN[CHAIN.index("shard") + 1 :])
    assert _shard_files(run) == _shard_files(dag_runs["new_threshold"])


def _shard_files(run: dict) -> dict:
    return {k: v for k, v in run["outputs"]["files"].items() if k.startswith("shards/")}

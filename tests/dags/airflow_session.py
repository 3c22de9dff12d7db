"""Loads the wit_pipeline DAG as Airflow does and writes what the DAG tests check as JSON.

Run as a script in a subprocess whose AIRFLOW_HOME and AIRFLOW__CORE__DAGS_FOLDER are set
(Airflow reads its config at import), from a folder outside the repository, as a deployment
would: `airflow_session.py describe OUT.json`, or `airflow_session.py run RUNS.json OUT.json`
where RUNS.json maps run names to DAG run confs, run in turn in this one process.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.shard.verify import verify_shards

DAG_ID = "wit_pipeline"


def dag_bag():
    """The DAGs folder parsed the way the dag processor and `dag.test()` parse it."""
    from airflow.dag_processing.dagbag import BundleDagBag
    from airflow.settings import DAGS_FOLDER

    folder = Path(DAGS_FOLDER)
    return BundleDagBag(dag_folder=folder, bundle_path=folder, bundle_name="dags-folder")


def describe() -> dict[str, Any]:
    """Import errors, tasks with their upstream ids and retries, and the params' schemas."""
    bag = dag_bag()
    dag = bag.get_dag(DAG_ID)
    return {
        "import_errors": bag.import_errors,
        "dag_ids": sorted(bag.dag_ids),
        "tasks": {
            t.task_id: {"upstream": sorted(t.upstream_task_ids), "retries": t.retries}
            for t in dag.tasks
        },
        "params": {name: param.schema for name, param in dag.params.items()},
        "max_active_runs": dag.max_active_runs,
    }


def dag_test(dag, conf: dict[str, Any]) -> dict[str, Any]:
    """One `dag.test()` run with `conf`: its state, each task's state, tries and result."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dagrun = dag.test(run_conf=conf)
    with create_session() as session:
        instances = dagrun.get_task_instances(session=session)
        query = XComModel.get_many(run_id=dagrun.run_id, key="return_value", dag_ids=DAG_ID)
        results = {x.task_id: XComModel.deserialize_value(x) for x in session.scalars(query)}
        return {
            "state": dagrun.state,
            "tasks": {ti.task_id: ti.state for ti in instances},
            "tries": {ti.task_id: ti.try_number for ti in instances},
            "results": results,
        }


def workdir_outputs(workdir: Path) -> dict[str, Any]:
    """What a run left: mtime and md5 of every file in .runner/ and shards/, the shard check's
    problems, and the kept and sharded sample counts."""
    folders = [workdir / ".runner", workdir / "shards"]
    files = sorted(p for folder in folders for p in folder.rglob("*") if p.is_file())
    return {
        "files": {
            str(p.relative_to(workdir)): [
                p.stat().st_mtime_ns,
                hashlib.md5(p.read_bytes()).hexdigest(),
            ]
            for p in files
        },
        "problems": verify_shards(workdir / "shards", Workspace(workdir)),
        "kept": sum(pq.read_table(workdir / "decisions.parquet").column("keep").to_pylist()),
        "sharded": sum(json.loads((workdir / "shards" / "sizes.json").read_text()).values()),
    }


def run(confs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`dag.test()` with each conf in turn, each with what its workdir held after it. Each run
    parses the DAG afresh, as a worker does: a parsed DAG keeps the params of its last run."""
    return {
        name: {
            **dag_test(dag_bag().get_dag(DAG_ID), conf),
            "outputs": workdir_outputs(Path(conf["workdir"])),
        }
        for name, conf in confs.items()
    }


def main(argv: list[str]) -> None:
    """Dispatch `describe OUT` or `run RUNS OUT`."""
    report = describe() if argv[0] == "describe" else run(json.loads(Path(argv[1]).read_text()))
    Path(argv[-1]).write_text(json.dumps(report, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])

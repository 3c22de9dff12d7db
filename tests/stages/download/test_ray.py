"""The same shard function on a real local Ray gives the same raw/ as the process pool."""

from dataclasses import replace

import pyarrow.parquet as pq

from tests.workspaces import FAST, write_urls
from wit_pipeline.core.executor import Engine
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.download import InputSpec, download


def _rows(workspace):
    files = sorted(workspace.raw_dir.glob("[0-9]*.parquet"))
    return [
        (r["key"], r["url"], r["status"], r["error_code"], r["sha256"])
        for f in files
        for r in pq.read_table(f).to_pylist()
    ]


def test_ray_distributor_matches_local(tmp_path, testweb, testweb_truth):
    rows = [r for r in testweb_truth if r["kind"] in ("ok", "not_found", "corrupt_image")][:40]
    urls = write_urls(tmp_path / "u.parquet", rows)
    spec = InputSpec(urls, samples_per_shard=10)
    local = Workspace(tmp_path / "local")
    download(local, spec, FAST)
    on_ray = Workspace(tmp_path / "ray")
    summary = download(on_ray, spec, replace(FAST, processes=2, engine=Engine("ray")))
    assert summary.shards_run == 4 and summary.rows == len(rows)
    assert _rows(on_ray) == _rows(local)
    assert sorted(p.name for p in on_ray.raw_dir.glob("0*")) == sorted(
        p.name for p in local.raw_dir.glob("0*")
    )

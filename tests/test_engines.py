"""The Ray engine runs the same stage functions as the local one: identical outputs."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.ray_cluster import free_port, wait_for_port
from wit_pipeline.cli import main
from wit_pipeline.core.executor import RAY_MULTI_NODE_SWITCH


@pytest.fixture(scope="module")
def by_engine(tmp_path_factory, downloaded_testweb):
    """The downloaded test web filtered and sharded once per engine, in separate copies."""
    root = tmp_path_factory.mktemp("engines")
    for engine in ("local", "ray"):
        workdir = root / engine
        shutil.copytree(downloaded_testweb, workdir)
        common = ["--workdir", str(workdir), "--engine", engine, "-q"]
        filter_args = ["filter", "--clip-model", "none", "--workers", "0", "--processes", "2"]
        assert main([*common, *filter_args, "--min-image-size", "32"]) == 0
        assert main([*common, "shard", "--samples-per-shard", "16", "--processes", "2"]) == 0
    return root


def test_ray_decisions_equal_local(by_engine):
    local = pq.read_table(by_engine / "local" / "decisions.parquet")
    ray = pq.read_table(by_engine / "ray" / "decisions.parquet")
    assert local.num_rows > 0
    assert ray.equals(local)


def test_ray_shards_are_byte_identical(by_engine):
    local = sorted((by_engine / "local" / "shards").glob("*.tar"))
    ray = sorted((by_engine / "ray" / "shards").glob("*.tar"))
    assert len(local) > 1
    assert [p.name for p in ray] == [p.name for p in local]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(local, ray, strict=True))
    for name in ("sizes.json", "index.wids.json"):
        assert (by_engine / "ray" / "shards" / name).read_text() == (
            by_engine / "local" / "shards" / name
        ).read_text().replace(str(by_engine / "local"), str(by_engine / "ray"))


def test_engine_ray_without_ray_installed_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "ray" else 1)
    assert main(["--workdir", str(tmp_path), "--engine", "ray", "shard"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "wit-pipeline: error: --engine ray needs the ray package: pip install 'wit-pipeline[ray]'"
    )


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory) -> Iterator[str]:
    """A Ray head node started with `ray start --head` in its own process group, as on a
    cluster's head machine (2 CPUs, loopback only); yields its address, stops it after."""
    port = free_port()
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must be short
    head = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("ray")),
            "start", "--head", "--block", "--port", str(port), "--num-cpus", "2",
            "--include-dashboard", "false", "--disable-usage-stats", "--temp-dir", temp_dir,
        ],
        env={**os.environ, RAY_MULTI_NODE_SWITCH: "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    address = f"127.0.0.1:{port}"
    try:
        wait_for_port(port, timeout=120)
        yield address
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        head.wait(timeout=60)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_ray_address_joins_a_running_cluster(ray_cluster, by_engine, tmp_path, downloaded_testweb):
    """`--ray-address` runs the units on a cluster started apart from the run, same output."""
    import ray

    workdir = tmp_path / "cluster"
    shutil.copytree(downloaded_testweb, workdir)
    common = ["--workdir", str(workdir), "--engine", "ray", "--ray-address", ray_cluster, "-q"]
    filter_args = ["filter", "--clip-model", "none", "--workers", "0", "--min-image-size", "32"]
    assert main([*common, *filter_args]) == 0
    assert main([*common, "shard", "--samples-per-shard", "16"]) == 0
    assert pq.read_table(workdir / "decisions.parquet").equals(
        pq.read_table(by_engine / "local" / "decisions.parquet")
    )
    local = sorted((by_engine / "local" / "shards").glob("*.tar"))
    assert [p.read_bytes() for p in sorted((workdir / "shards").glob("*.tar"))] == [
        p.read_bytes() for p in local
    ]
    ray.init(address=ray_cluster, log_to_driver=False)
    try:
        # job ids number the drivers the cluster has seen: the filter's and the shard's came first
        job = ray.get_runtime_context().get_job_id()
        assert int.from_bytes(bytes.fromhex(job), "little") >= 3
    finally:
        ray.shutdown()

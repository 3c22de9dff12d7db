"""A real Ray cluster of three nodes (`ray start`: a head without CPUs, two worker nodes, each
with its own temp dir): download, filter and shard with `--engine ray --ray-address` give
shards byte-identical to a local run, also when the worker nodes upload the shards to a
loopback S3 server; and scrape, download, filter and shard with the whole workspace on that
S3 server give them too, also with a worker node killed mid-download and the download repeated.
Run by tests/test_cluster.py inside a network namespace holding only loopback (Ray's
multi-node mode listens on every address); not collected on its own (no test_ prefix)."""

import html
import io
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.ray_cluster import ROOT, Node, cluster_env, ray_nodes
from tests.s3_server import client, objects, s3_server
from tests.workspaces import write_urls
from wit_pipeline.cli import main
from wit_pipeline.testweb import WebServer
from wit_pipeline.testweb.photo_site import serve

UNITS = 8
BUCKET = "wit-cluster"
DOWNLOAD = [
    "download", "--samples-per-shard", "4", "--allow-private-networks", "--timeout", "10",
    "--retries", "1", "--threads", "8", "--processes", "1",
]  # fmt: skip
FILTER = ["filter", "--clip-model", "none", "--workers", "0", "--min-image-size", "32"]
SHARD = ["shard", "--samples-per-shard", "8"]
SCRAPE = ["scrape", "--max-depth", "0", "--rate", "200", "--allow-private-networks"]


@pytest.fixture(scope="module")
def urls(tmp_path_factory, testweb_web) -> Iterator[Path]:
    """A server of the module's own and an input of UNITS download units of four URLs, each
    with one answered after slow_seconds (2 s), so a unit lasts long enough to be cut."""
    with WebServer(testweb_web) as server:
        truth = testweb_web.ground_truth(server.origin).to_pylist()
        ok = [r for r in truth if r["kind"] == "ok"]
        slow = next(r for r in truth if r["kind"] == "slow_first_byte")
        rows = [row for u in range(UNITS) for row in [*ok[3 * u : 3 * u + 3], slow]]
        yield write_urls(tmp_path_factory.mktemp("input") / "urls.parquet", rows)


@pytest.fixture(scope="module")
def page(urls) -> Iterator[str]:
    """A page on a loopback server of its own whose images are the input's rows in order (so
    scraping it gives the same download units)."""
    table = pq.read_table(urls).to_pylist()
    body = "".join(f'<img src="{r["url"]}" alt="{html.escape(r["caption"])}">' for r in table)
    page = f"<html><body>{body}</body></html>".encode()
    with serve({"/index.html": (page, "page", "page")}) as origin:
        yield f"{origin}/index.html"


@pytest.fixture(scope="module")
def local_scraped_run(tmp_path_factory, page) -> Path:
    """scrape -> download -> filter -> shard of the page on the local engine."""
    workdir = tmp_path_factory.mktemp("local-scraped") / "w"
    for words in ([*SCRAPE, page], DOWNLOAD, FILTER, SHARD):
        assert main(["--workdir", str(workdir), "-q", *words]) == 0
    return workdir


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, urls) -> Path:
    """The same input through download, filter and shard on the local engine."""
    workdir = tmp_path_factory.mktemp("local") / "w"
    for words in ([*DOWNLOAD, str(urls)], FILTER, SHARD):
        assert main(["--workdir", str(workdir), "-q", *words]) == 0
    return workdir


@pytest.fixture(scope="module")
def s3_env() -> Iterator[dict[str, str]]:
    """A loopback S3 server with the test's bucket: its endpoint and credentials."""
    with s3_server() as env:
        client(env).create_bucket(Bucket=BUCKET)
        yield env


@pytest.fixture(scope="module")
def cluster(s3_env) -> Iterator[tuple[str, list[Node], dict[str, str]]]:
    """The head's address, the two worker nodes and the S3 environment the nodes have."""
    with ray_nodes(workers=2, extra_env=s3_env) as (address, workers):
        yield address, workers, s3_env


def on_cluster(cluster: tuple, workdir: Path | str, words: list[str]) -> subprocess.Popen:
    """The command line as a driver joining the cluster, run in a process of its own."""
    address, _, s3_env = cluster
    return subprocess.Popen(
        [sys.executable, "-m", "wit_pipeline", "--workdir", str(workdir), "--engine", "ray",
         "--ray-address", address, "-q", *words],
        cwd=ROOT,
        env={**cluster_env(), **s3_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def run_on_cluster(cluster: tuple, workdir: Path | str, words: list[str]) -> None:
    """Run one stage on the cluster to the end; it must succeed."""
    process = on_cluster(cluster, workdir, words)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err


def assert_same_shards(workdir: Path, local: Path) -> None:
    """Same decisions, same manifest, byte-identical tars and sizes.json."""
    assert pq.read_table(workdir / "decisions.parquet").equals(
        pq.read_table(local / "decisions.parquet")
    )
    tars = sorted((local / "shards").glob("*.tar"))
    assert len(tars) > 1
    assert [p.name for p in sorted((workdir / "shards").glob("*.tar"))] == [p.name for p in tars]
    for path in [*tars, local / "shards" / "sizes.json"]:
        assert (workdir / "shards" / path.name).read_bytes() == path.read_bytes(), path.name
    assert pq.read_table(workdir / "shards" / "manifest.parquet").equals(
        pq.read_table(local / "shards" / "manifest.parquet")
    )


def unit_markers(workdir: Path) -> list[Path]:
    """The download units finished so far."""
    return sorted((workdir / "raw" / ".done").glob("[0-9]*.json"))


def s3_unit_markers(s3_env: dict[str, str]) -> list[str]:
    """The download units finished so far in the workspace on S3 that a node gets killed in."""
    listing = client(s3_env).list_objects_v2(Bucket=BUCKET, Prefix="workspace/raw/.done/0")
    return [item["Key"] for item in listing.get("Contents", [])]


def test_the_only_network_interface_is_loopback():
    assert [name for _, name in socket.if_nameindex()] == ["lo"]


def test_three_nodes_make_the_local_shards_on_disk_and_on_s3(cluster, urls, local_run, tmp_path):
    workdir = tmp_path / "w"
    for words in ([*DOWNLOAD, str(urls)], FILTER, SHARD):
        run_on_cluster(cluster, workdir, words)
    assert len(unit_markers(workdir)) == UNITS
    assert_same_shards(workdir, local_run)
    run_on_cluster(cluster, workdir, [*SHARD, "--out", f"s3://{BUCKET}/run/shards"])
    uploaded = objects(cluster[2], BUCKET, "run/shards")
    local = sorted((local_run / "shards").glob("*.tar"))
    for path in [*local, local_run / "shards" / "sizes.json"]:
        assert uploaded[path.name] == path.read_bytes(), path.name
    assert {f".done/{p.stem}.json" for p in local} <= set(uploaded)


def assert_same_shards_on_s3(s3_env: dict[str, str], prefix: str, local: Path) -> None:
    """The workspace at `prefix` on S3 holds the local run's tars, sizes.json and decisions,
    and every unit marker names objects of the sizes stored."""
    stored = objects(s3_env, BUCKET, prefix)
    tars = sorted((local / "shards").glob("*.tar"))
    assert len(tars) > 1
    assert sorted(n for n in stored if n.startswith("shards/") and n.endswith(".tar")) == [
        f"shards/{p.name}" for p in tars
    ]
    for path in [*tars, local / "shards" / "sizes.json"]:
        assert stored[f"shards/{path.name}"] == path.read_bytes(), path.name
    assert pq.read_table(io.BytesIO(stored["decisions.parquet"])).equals(
        pq.read_table(local / "decisions.parquet")
    )
    for name in (n for n in stored if n.startswith(("raw/.done/0", "scores/.done/0"))):
        for obj, facts in json.loads(stored[name])["objects"].items():
            assert len(stored[obj]) == facts["size"], obj


def test_workspace_on_s3_makes_the_local_shards(cluster, page, local_scraped_run):
    """scrape -> download -> filter -> shard with the whole workspace on S3."""
    workdir = f"s3://{BUCKET}/calm"
    for words in ([*SCRAPE, page], DOWNLOAD, FILTER, SHARD):
        run_on_cluster(cluster, workdir, words)
    assert_same_shards_on_s3(cluster[2], "calm", local_scraped_run)


def test_workspace_on_s3_with_a_worker_node_killed_mid_download_makes_the_same_shards(
    cluster, page, local_scraped_run
):
    """scrape -> download -> filter -> shard with the whole workspace on S3 (no folder shared
    by the nodes), a worker node killed mid-download and the download run again."""
    workers, s3_env = cluster[1], cluster[2]
    workdir = f"s3://{BUCKET}/workspace"
    units = len(unit_markers(local_scraped_run))
    run_on_cluster(cluster, workdir, [*SCRAPE, page])
    download = on_cluster(cluster, workdir, DOWNLOAD)
    deadline = time.monotonic() + 120
    while not s3_unit_markers(s3_env) and time.monotonic() < deadline:
        time.sleep(0.2)
    done_at_kill = len(s3_unit_markers(s3_env))
    assert download.poll() is None and 0 < done_at_kill < units
    workers[0].kill()
    _, err = download.communicate(timeout=300)
    # Ray retries the lost node's tasks on the other one, or the run fails and keeps its units
    assert download.returncode in (0, 1), err
    run_on_cluster(cluster, workdir, DOWNLOAD)
    assert len(s3_unit_markers(s3_env)) == units > 1
    for words in (FILTER, SHARD):
        run_on_cluster(cluster, workdir, words)
    assert_same_shards_on_s3(s3_env, "workspace", local_scraped_run)

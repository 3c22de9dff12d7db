"""Ray nodes started with `ray start` as on a cluster's machines: a head and worker nodes, each
in its own process group with its own temp dir, stopped (or killed) one by one."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from wit_pipeline.core.executor import RAY_LOOPBACK_ONLY

RAY = str(Path(sys.executable).with_name("ray"))
SMALL_OBJECT_STORE = str(80 * 1024 * 1024)
"""Bytes of shared memory per node: just over Ray's minimum (75 MiB)."""
FAST_NODE_DEATH = {
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}
"""The head declares a silent node dead after about 3 s instead of about 30 s."""


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float) -> None:
    """Return once 127.0.0.1:port accepts connections; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


ROOT = Path(__file__).resolve().parents[1]


def cluster_env() -> dict[str, str]:
    """This process's environment with Ray's multi-node mode on (a worker node, or a driver
    joining one, refuses to start in the loopback-only mode of the single-node tests) and this
    checkout first on the path of the nodes' workers and of drivers run as commands."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, RAY_LOOPBACK_ONLY: "1", "PYTHONPATH": path}


class Node:
    """One `ray start --block` process and everything it started (one process group)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # socket paths must be short
        self.process = subprocess.Popen(
            [RAY, "start", "--block", "--disable-usage-stats", "--temp-dir", self.temp_dir,
             "--node-ip-address", "127.0.0.1", "--object-store-memory", SMALL_OBJECT_STORE,
             *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip

    def started(self) -> bool:
        """Whether this node's raylet has opened its socket."""
        return any(Path(self.temp_dir).glob("session_*/sockets/raylet"))

    def kill(self) -> None:
        """SIGKILL the node's whole process group (raylet, workers): a machine lost mid-run."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop the node (SIGTERM, SIGKILL when it lingers) and remove its temp dir."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # children `ray start` left behind
        shutil.rmtree(self.temp_dir, ignore_errors=True)


@contextmanager
def ray_nodes(workers: int, cpus_per_worker: int = 1) -> Iterator[tuple[str, list[Node]]]:
    """A head node without CPUs (so every task runs on a worker node) and `workers` worker
    nodes; yields the head's address and the worker nodes, once all have started."""
    port = free_port()
    env = cluster_env()
    head = Node(
        ["--head", "--port", str(port), "--num-cpus", "0", "--include-dashboard", "false"],
        {**env, **FAST_NODE_DEATH},
    )
    nodes: list[Node] = []
    try:
        wait_for_port(port, timeout=120)
        address = f"127.0.0.1:{port}"
        nodes = [
            Node(["--address", address, "--num-cpus", str(cpus_per_worker)], env)
            for _ in range(workers)
        ]
        deadline = time.monotonic() + 120
        while not all(node.started() for node in nodes):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{workers} Ray worker nodes did not start in 120 s")
            time.sleep(0.5)
        yield address, nodes
    finally:
        for node in [*nodes, head]:
            node.stop()

"""Ray nodes started with `ray start` as on a cluster's machines: a head and worker nodes, each
in its own process group with its own temp dir, stopped (or killed) one by one."""

import os
import secrets
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

from wit_pipeline.core.executor import RAY_MULTI_NODE_SWITCH

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
CLUSTER_TOKEN = secrets.token_hex(32)
"""The token every node and driver of the test's cluster presents (Ray's token auth)."""


def cluster_env() -> dict[str, str]:
    """This process's environment with Ray's multi-node mode on (a worker node, or a driver
    joining one, refuses to start in the loopback-only mode of the single-node tests), token
    auth with the test's own token (whether ~/.ray/auth_token exists, which a local
    `ray.init()` writes, would otherwise decide whether the head asks for one), and this
    checkout first on the path of the nodes' workers and of drivers run as commands."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {
        **os.environ,
        RAY_MULTI_NODE_SWITCH: "1",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": CLUSTER_TOKEN,
        "PYTHONPATH": path,
    }


class Node:
    """One `ray start --block` process and everything it started (one process group)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # socket paths must be short
        self.log = Path(self.temp_dir) / "ray-start.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [RAY, "start", "--block", "--disable-usage-stats", "--temp-dir", self.temp_dir,
                 "--node-ip-address", "127.0.0.1", "--object-store-memory", SMALL_OBJECT_STORE,
                 *args],
                env={**env, "TMPDIR": self.temp_dir},  # each node's scratch is its own
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def started(self) -> bool:
        """Whether this node's raylet has opened its socket; RuntimeError with the end of
        `ray start`'s output when it has exited."""
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"ray start exited with {self.process.returncode}:\n{tail}")
        return any(Path(self.temp_dir).glob("session_*/sockets/raylet"))

    def kill(self) -> None:
        """SIGKILL the node's whole process group (raylet, workers): a machine lost mid-run."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Kill the node and remove its temp dir: a cluster made for one test needs no graceful
        shutdown (`ray start --block` lingers for long on SIGTERM)."""
        self.kill()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def wait_until_started(nodes: list[Node], timeout: float = 120) -> None:
    """Return once every node's raylet is up; TimeoutError with the end of a late node's
    `ray start` output after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not all(node.started() for node in nodes):
        if time.monotonic() > deadline:
            late = next(node for node in nodes if not node.started())
            tail = late.log.read_text(errors="replace")[-2000:]
            raise TimeoutError(f"a Ray node did not start in {timeout} s:\n{tail}")
        time.sleep(0.5)


@contextmanager
def ray_nodes(
    workers: int, cpus_per_worker: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, list[Node]]]:
    """A head node without CPUs (so every task runs on a worker node) and `workers` worker
    nodes, `extra_env` in their environment (what their tasks need: an object store's
    endpoint and credentials); yields the head's address and the worker nodes, once all have
    started."""
    port = free_port()
    env = {**cluster_env(), **(extra_env or {})}
    head = Node(
        ["--head", "--port", str(port), "--num-cpus", "0", "--include-dashboard", "false"],
        {**env, **FAST_NODE_DEATH},
    )
    nodes: list[Node] = []
    try:
        wait_until_started([head])
        address = f"127.0.0.1:{port}"
        nodes = [
            Node(["--address", address, "--num-cpus", str(cpus_per_worker)], env)
            for _ in range(workers)
        ]
        wait_until_started(nodes)
        yield address, nodes
    finally:
        for node in [*nodes, head]:
            node.stop()

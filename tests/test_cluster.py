"""The cluster checks (tests/cluster_checks.py: three `ray start` nodes, a loopback S3 server,
the test web) run in a network namespace of their own holding only a loopback interface:
Ray's multi-node mode listens on every address, so nothing it binds is reachable from
outside."""

import shlex
import shutil
import subprocess
import sys

import pytest

from tests.ray_cluster import ROOT

UNSHARE = ["unshare", "--net", "--map-root-user", "--"]
INNER = [sys.executable, "tests/loopback_up.py", "-m", "pytest", "-q", "-p", "no:cacheprovider"]


def unshare_problem() -> str | None:
    """Why a loopback-only network namespace cannot be made here, or None when it can."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) not found"
    probe = subprocess.run([*UNSHARE, "true"], capture_output=True, text=True)
    if probe.returncode == 0:
        return None
    return f"{shlex.join([*UNSHARE, 'true'])}: {probe.stderr.strip() or probe.returncode}"


@pytest.mark.timeout(900)
def test_cluster_checks_pass_in_a_loopback_only_network_namespace():
    problem = unshare_problem()
    if problem:
        pytest.fail(f"the cluster test needs its own network namespace: {problem}", pytrace=False)
    run = subprocess.run(
        [*UNSHARE, *INNER, "tests/cluster_checks.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "4 passed" in run.stdout, run.stdout[-6000:]

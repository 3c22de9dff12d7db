"""The lease that keeps one writer per stage on a workspace on object storage."""

import json
import socket
import time
from dataclasses import dataclass

import fsspec
import pytest

from wit_pipeline.core.errors import InputError
from wit_pipeline.core.executor import Unit, run_units
from wit_pipeline.core.lock import stage_lock
from wit_pipeline.core.remote_lock import LEASE_SECONDS, Lease
from wit_pipeline.core.workspace import Workspace

URL = "memory://wit-lease-test/w/.locks/filter.lock"


@pytest.fixture(autouse=True)
def clean_store():
    yield
    fs = fsspec.filesystem("memory")
    if fs.exists("/wit-lease-test"):
        fs.rm("/wit-lease-test", recursive=True)


def _plant(**holder) -> None:
    record = {"pid": 1, "host": "other-host", "since": "then", "command": "wit-pipeline filter"}
    fsspec.filesystem("memory").pipe_file(URL, json.dumps({**record, **holder}).encode())


def test_a_second_writer_is_refused_naming_the_first():
    first = Lease(URL, "filter").take()
    try:
        with pytest.raises(InputError, match=r"another filter is running .*pid \d+ on "):
            Lease(URL, "filter").take()
    finally:
        first.release()
    assert not fsspec.filesystem("memory").exists(URL)
    Lease(URL, "filter").take().release()


def test_a_live_lease_of_another_machine_is_respected():
    _plant(expires=time.time() + LEASE_SECONDS)
    with pytest.raises(InputError, match="pid 1 on other-host"):
        Lease(URL, "filter").take()


def test_an_expired_lease_is_taken_over():
    _plant(expires=time.time() - 1)
    lease = Lease(URL, "filter").take()
    holder = json.loads(fsspec.filesystem("memory").cat_file(URL))
    assert holder["host"] == socket.gethostname()
    lease.release()


def test_a_lease_of_a_dead_process_of_this_machine_is_taken_over():
    _plant(host=socket.gethostname(), pid=2**22 + 7, expires=time.time() + LEASE_SECONDS)
    Lease(URL, "filter").take().release()


def test_a_refused_run_leaves_the_holders_lease_alone():
    first = Lease(URL, "filter").take()
    with pytest.raises(InputError):
        Lease(URL, "filter").take()
    assert json.loads(fsspec.filesystem("memory").cat_file(URL))["token"] == first.token
    first.release()
    assert not fsspec.filesystem("memory").exists(URL)


def test_a_holder_whose_lease_was_taken_over_does_not_delete_the_new_one():
    first = Lease(URL, "filter").take()
    _plant(token="next-holder", expires=time.time() + LEASE_SECONDS)
    first.release()
    assert json.loads(fsspec.filesystem("memory").cat_file(URL))["token"] == "next-holder"


@dataclass(frozen=True)
class _Noop:
    """A unit payload that reads and writes nothing."""

    def staged(self, staging):
        return self


def test_a_run_that_lost_its_lease_stops_before_marking_a_unit_done():
    workspace = Workspace.at("memory://wit-lease-test/ws")
    lock = "/wit-lease-test/ws/.locks/filter.lock"
    with stage_lock(workspace.root, "filter", workspace.remote):
        workspace.prepare()
        stolen = {"token": "thief", "pid": 1, "host": "other-host", "since": "now"}
        fsspec.filesystem("memory").pipe_file(
            lock, json.dumps({**stolen, "expires": time.time() + 60}).encode()
        )
        with pytest.raises(InputError, match="lost its lease"):
            run_units(workspace.root / "scores", [Unit("00000", _Noop())], lambda job: {})
    assert not (workspace.root / "scores" / ".done" / "00000.json").exists()
    assert json.loads(fsspec.filesystem("memory").cat_file(lock))["token"] == "thief"

"""Atomic output: a killed or failing writer never leaves a partial file under the final name."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from wit_pipeline.core.atomic import (
    atomic_path,
    atomic_write,
    is_temp,
    remove_stale_temps,
    stale_temps,
    write_json_atomic,
)

WRITER = textwrap.dedent(
    """
    import sys, time
    from wit_pipeline.core.atomic import atomic_write
    with atomic_write(sys.argv[1]) as handle:
        for i in range(int(sys.argv[2])):
            handle.write(b"x" * 65536)
            handle.flush()
            if i == 0:
                print("writing", flush=True)
                time.sleep(float(sys.argv[3]))
    print("done", flush=True)
    """
)


def _start_writer(final, chunks, pause):
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(final), str(chunks), str(pause)],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_sigkill_mid_write_leaves_no_final_file_and_a_rerun_completes(tmp_path):
    final = tmp_path / "out" / "00000.tar"
    writer = _start_writer(final, chunks=50, pause=30)
    assert writer.stdout.readline().strip() == "writing"
    temps = stale_temps(tmp_path)
    assert len(temps) == 1 and temps[0].stat().st_size > 0
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=10)
    assert writer.returncode == -signal.SIGKILL
    assert not final.exists()
    assert [p.name for p in final.parent.iterdir() if not is_temp(p)] == []

    assert remove_stale_temps(tmp_path) == temps
    rerun = _start_writer(final, chunks=3, pause=0)
    assert rerun.communicate(timeout=60)[0].split() == ["writing", "done"]
    assert final.stat().st_size == 3 * 65536
    assert stale_temps(tmp_path) == []


def test_exception_keeps_previous_content_and_removes_temp(tmp_path):
    final = tmp_path / "decisions.parquet"
    final.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(final) as handle:
        handle.write(b"new but unfinished")
        raise RuntimeError("boom")
    assert final.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [final]


def test_atomic_path_for_libraries_that_write_by_name(tmp_path):
    final = tmp_path / "a" / "b.json"
    with atomic_path(final) as temp:
        assert temp.parent == final.parent and is_temp(temp)
        temp.write_text("{}")
        assert not final.exists()
    assert final.read_text() == "{}"


def test_atomic_path_fails_when_writer_made_nothing(tmp_path):
    final = tmp_path / "x.bin"
    with pytest.raises(FileNotFoundError, match="the writer produced no file"), atomic_path(final):
        pass
    assert not final.exists()


def test_write_json_atomic_is_sorted_and_ends_with_newline(tmp_path):
    final = tmp_path / "sizes.json"
    write_json_atomic(final, {"b": 1, "a": 2})
    assert final.read_text() == '{\n  "a": 2,\n  "b": 1\n}\n'


def test_atomic_write_rejects_read_mode(tmp_path):
    with pytest.raises(ValueError, match="needs a write mode"), atomic_write(tmp_path / "x", "rb"):
        pass

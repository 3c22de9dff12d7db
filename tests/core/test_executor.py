"""The executor skips finished units, marks new ones, keeps going past a failing one."""

import sys

import pytest

from wit_pipeline.core.errors import InputError
from wit_pipeline.core.executor import Engine, Unit, UnitsFailed, run_units
from wit_pipeline.core.markers import Markers


def square(value):
    if value < 0:
        raise ValueError(f"negative: {value}")
    return {"square": value * value}


@pytest.mark.parametrize("processes", [1, 2])
def test_runs_marks_and_skips(tmp_path, processes):
    units = [Unit(f"u{i}", i) for i in range(4)]
    first = run_units(tmp_path, units[:2], square, processes=processes, progress=False)
    assert first.skipped == [] and first.infos["u1"]["square"] == 1
    second = run_units(tmp_path, units, square, processes=processes, progress=False)
    assert second.skipped == ["u0", "u1"]
    assert {k: v["square"] for k, v in second.infos.items()} == {"u0": 0, "u1": 1, "u2": 4, "u3": 9}
    assert Markers(tmp_path).done_units() == ["u0", "u1", "u2", "u3"]


def test_a_failing_unit_does_not_lose_the_others(tmp_path):
    units = [Unit("a", 2), Unit("b", -1), Unit("c", 3)]
    with pytest.raises(
        UnitsFailed, match=r"1 of 3 squares failed \(first: b: ValueError: negative"
    ):
        run_units(tmp_path, units, square, desc="squares", progress=False)
    assert Markers(tmp_path).done_units() == ["a", "c"]


def test_stale_temporary_files_are_cleared_first(tmp_path):
    (tmp_path / ".00000.tar.tmp-1-ab").write_bytes(b"half")
    (tmp_path / ".00001.tmp-1-cd").mkdir()
    run_units(tmp_path, [Unit("x", 1)], square, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".done"]


def test_ray_engine_without_ray_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(
        InputError, match=r"needs the ray package: pip install 'wit-pipeline\[ray\]'"
    ):
        run_units(tmp_path, [Unit("x", 1)], square, engine=Engine("ray"), progress=False)
    assert not Markers(tmp_path).is_done("x")


def test_a_file_url_marker_folder_is_that_local_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    (out / ".00000.tar.tmp-1-ab").parent.mkdir()
    (out / ".00000.tar.tmp-1-ab").write_bytes(b"half")
    run_units(f"file://{out}", [Unit("u0", 3)], square, progress=False)
    assert Markers(out).info("u0") == {"unit": "u0", "square": 9}
    assert not (out / ".00000.tar.tmp-1-ab").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no folder named `file:`

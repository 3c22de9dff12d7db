"""Completion markers record finished units so a rerun can skip them."""

import pytest

from wit_pipeline.core.markers import Markers


def test_mark_and_query_units(tmp_path):
    markers = Markers(tmp_path / "raw")
    assert not markers.is_done("00000")
    markers.mark_done("00000", {"rows": 12})
    markers.mark_done("00002")
    assert markers.is_done("00000")
    assert markers.info("00000") == {"unit": "00000", "rows": 12}
    assert markers.info("00001") is None
    assert markers.done_units() == ["00000", "00002"]


def test_stage_marker_is_separate_from_units(tmp_path):
    markers = Markers(tmp_path)
    markers.mark_done("00000")
    assert not markers.stage_done()
    markers.mark_stage_done({"units": 1})
    assert markers.stage_done()
    assert markers.done_units() == ["00000"]
    markers.clear()
    assert markers.done_units() == [] and not markers.stage_done()


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".hidden"])
def test_unit_names_cannot_escape_the_folder(tmp_path, bad):
    with pytest.raises(ValueError, match="bad unit name"):
        Markers(tmp_path).mark_done(bad)

"""DataComp uid lists: written and read as DataComp's baselines ship them."""

import numpy as np
import pytest

from wit_pipeline.core.errors import InputError
from wit_pipeline.metadata.uids import hex_uids, listed, read_uids, uid_pairs, write_uids

UIDS = ["ffffffffffffffff0000000000000001", "00000000000000010000000000000002"]


def test_round_trip_sorted_and_unique(tmp_path):
    path = tmp_path / "subset.npy"
    assert write_uids(path, uid_pairs([*UIDS, UIDS[0]], "t")) == 2
    array = np.load(path)
    assert array.dtype == np.dtype("u8,u8") and array.shape == (2,)
    assert hex_uids(read_uids(path)) == sorted(UIDS)


def test_reads_a_list_written_the_datacomp_way(tmp_path):
    # DataComp's baselines: np.array([(int(u[:16], 16), int(u[16:], 16)) ...], "u8,u8")
    pairs = np.array([(int(u[:16], 16), int(u[16:], 16)) for u in UIDS], np.dtype("u8,u8"))
    np.save(tmp_path / "b.npy", pairs)
    uids = read_uids(tmp_path / "b.npy")
    assert hex_uids(uids) == sorted(UIDS)
    query = uid_pairs([UIDS[1], "0" * 32], "q")
    assert listed(uids, query).tolist() == [True, False]


def test_bad_lists_and_uids_are_one_line_errors(tmp_path):
    np.save(tmp_path / "f.npy", np.arange(3.0))
    (tmp_path / "t.npy").write_text("not numpy")
    for name in ("f.npy", "t.npy"):
        with pytest.raises(InputError, match="uid list"):
            read_uids(tmp_path / name)
    with pytest.raises(InputError, match=r"m\.parquet: row 12: uid 'xyz' is not 32 hex digits"):
        uid_pairs([UIDS[0], "xyz"], "m.parquet", first_row=10)

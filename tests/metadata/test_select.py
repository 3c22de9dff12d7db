"""`wit-pipeline select`: metadata-first filtering on a LAION/DataComp-style table's own
columns and uid lists; every dropped row keeps its reasons; uid lists round-trip."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from wit_pipeline.cli import main
from wit_pipeline.metadata.uids import hex_uids

ROWS = [
    # uid, similarity, NSFW, width
    ("0" * 31 + "1", 0.35, "UNLIKELY", 640),
    ("0" * 31 + "2", 0.20, "UNLIKELY", 640),
    ("0" * 31 + "3", 0.40, "NSFW", 32),
    ("0" * 31 + "4", None, "UNLIKELY", 800),
    ("0" * 31 + "5", 0.31, "UNSURE", 1024),
    ("f" * 32, 0.50, "UNLIKELY", 300),
]


def _metadata(path):
    uid, similarity, nsfw, width = zip(*ROWS, strict=True)
    table = pa.table(
        {
            "url": [f"http://x/{i}.jpg" for i in range(len(ROWS))],
            "caption": [f"caption {i}" for i in range(len(ROWS))],
            "uid": list(uid),
            "similarity": pa.array(similarity, pa.float64()),
            "NSFW": list(nsfw),
            "width": pa.array(width, pa.int32()),
        }
    )
    pq.write_table(table, path)
    return path


def test_rules_keep_and_drop_with_reasons(tmp_path, capsys):
    source = _metadata(tmp_path / "laion.parquet")
    out = tmp_path / "kept.parquet"
    argv = ["select", str(source), "--out", str(out), "--min", "similarity=0.3",
            "--drop", "NSFW=NSFW,UNSURE", "--min", "width=64"]  # fmt: skip
    assert main(argv) == 0
    assert "selected 2 of 6 rows" in capsys.readouterr().out
    kept = pq.read_table(out)
    assert kept.schema == pq.read_schema(source)
    assert kept["uid"].to_pylist() == [ROWS[0][0], ROWS[5][0]]
    dropped = pq.read_table(tmp_path / "kept.dropped.parquet").to_pylist()
    assert {d["uid"]: d["reasons"] for d in dropped} == {
        ROWS[1][0]: ["similarity<0.3"],
        ROWS[2][0]: ["width<64", "NSFW in NSFW,UNSURE"],
        ROWS[3][0]: ["similarity<0.3"],
        ROWS[4][0]: ["NSFW in NSFW,UNSURE"],
    }


def test_uid_list_exported_then_imported_reproduces_the_subset(tmp_path):
    source = _metadata(tmp_path / "datacomp.parquet")
    subset = tmp_path / "subset.npy"
    first = tmp_path / "a.parquet"
    assert main(["-q", "select", str(source), "--out", str(first), "--keep",
                 "NSFW=UNLIKELY", "--export-uids", str(subset)]) == 0  # fmt: skip
    assert hex_uids(np.load(subset)) == sorted(pq.read_table(first)["uid"].to_pylist())
    again = tmp_path / "b.parquet"
    assert main(["-q", "select", str(source), "--out", str(again), "--uids", str(subset)]) == 0
    assert pq.read_table(again) == pq.read_table(first)
    dropped = pq.read_table(tmp_path / "b.dropped.parquet")
    assert set(map(tuple, dropped["reasons"].to_pylist())) == {("uid_not_listed",)}


def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys):
    source = _metadata(tmp_path / "m.parquet")
    out = tmp_path / "kept.parquet"
    assert main(["select", str(source), "--out", str(out), "--min", "clip_score=0.3"]) == 2
    assert main(["select", str(source), "--out", str(out), "--min", "similarity=high"]) == 2
    assert main(["select", str(tmp_path / "nope"), "--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert "column 'clip_score' is missing" in lines[0] and "not a number" in lines[1]
    assert "no such file" in lines[2] and len(lines) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.parquet"]

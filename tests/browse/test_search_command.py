"""`wit-pipeline search`: JSON lines and the table from the same Index answers, filters as
flags, an example image, and bad input as one line with exit code 2."""

import json

import pyarrow.parquet as pq

from wit_pipeline.browse import Filters
from wit_pipeline.cli import main


def search(capsys, workspace, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["--workdir", str(workspace.root), "search", *args])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_json_lines_are_the_index_results(capsys, browse_workspace, index):
    code, out, _ = search(
        capsys, browse_workspace, "a star", "-k", "7", "--json", "--in", "captions"
    )
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 7
    assert [r["key"] for r in rows] == [r.item["key"] for r in index.captions("a star", k=7)]
    assert {"rank", "score", "match", "keep", "reason", "why", "caption", "url"} <= set(rows[0])


def test_text_searches_images_when_embeddings_were_saved(capsys, browse_workspace):
    code, out, _ = search(capsys, browse_workspace, "a red star", "-k", "3", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["match"] for r in rows] == ["text-image"] * 3


def test_filters_as_flags_and_the_table(capsys, browse_workspace, index):
    code, out, err = search(capsys, browse_workspace, "--dropped", "--reason", "low_clip_score")
    expected = index.page(Filters(keep=False, reason="low_clip_score"), 0, 20)
    lines = out.splitlines()
    assert code == 0 and len(lines) == len(expected) > 0
    assert all("low_clip_score" in line for line in lines)
    assert [line.split()[2] for line in lines] == [r.item["key"] for r in expected]
    assert f"({len(expected)} results)" in err


def test_an_example_image_finds_itself(capsys, browse_workspace, index, tmp_path):
    item = index.page(Filters(keep=True), 0, 1)[0].item
    data, _ = index.images.read(item["shard"], item["key"])
    (tmp_path / "example.jpg").write_bytes(data)
    code, out, _ = search(capsys, browse_workspace, "--image", str(tmp_path / "example.jpg"),
                          "-k", "3", "--json")  # fmt: skip
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and rows[0]["key"] == item["key"] and rows[0]["match"] == "image-image"
    assert rows[0]["score"] > 0.99


def test_bad_input_is_one_line_and_exit_2(capsys, browse_workspace, tmp_path):
    (tmp_path / "not.jpg").write_text("hello")
    cases = [
        (["--image", str(tmp_path / "missing.jpg")], "cannot read"),
        (["--image", str(tmp_path / "not.jpg")], "not an image"),
        (["--like", "nope"], "no sample with that key"),
        (["-k", "0"], "at least 1"),
        (["--min-score", "nan"], "finite"),
    ]
    for args, message in cases:
        code, _, err = search(capsys, browse_workspace, *args)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, args


def test_images_without_saved_embeddings_say_what_to_run(capsys, filtered_testweb):
    workspace = type("W", (), {"root": filtered_testweb})
    code, _, err = search(capsys, workspace, "a red star", "--in", "images")
    assert code == 2 and "--save-embeddings" in err
    code, out, _ = search(capsys, workspace, "star", "-k", "2", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    keys = set(pq.read_table(filtered_testweb / "decisions.parquet").column("key").to_pylist())
    assert code == 0 and len(rows) == 2 and {r["match"] for r in rows} == {"caption"}
    assert {r["key"] for r in rows} <= keys


def test_before_the_filter_and_without_a_workspace(capsys, downloaded_testweb, tmp_path):
    code, _, err = search(capsys, type("W", (), {"root": downloaded_testweb}), "star")
    assert code == 2 and "run `wit-pipeline filter` first" in err
    code, _, err = search(capsys, type("W", (), {"root": tmp_path / "none"}), "star")
    assert code == 2 and "no workspace there" in err

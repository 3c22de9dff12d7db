"""Input validation reports each kind of bad input as one exact line."""

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit_pipeline.core.errors import InputError
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.core.validate import (
    input_format,
    open_batches,
    require_valid,
    validate_file,
    validate_input,
)

PAIRS = load_schema("pairs")


def _write_parquet(path, columns, row_group_size=None):
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)
    return path


def _urls(n, null_rows=()):
    return [None if i + 1 in null_rows else f"http://127.0.0.1/img/{i}.jpg" for i in range(n)]


def test_valid_parquet_has_no_problems(tmp_path):
    path = _write_parquet(tmp_path / "urls.parquet", {"url": _urls(5), "caption": ["c"] * 5})
    report = validate_file(path, PAIRS)
    assert report.ok
    assert report.rows == 5


def test_missing_column(tmp_path):
    path = _write_parquet(tmp_path / "urls.parquet", {"caption": ["a", "b"], "x": [1, 2]})
    assert validate_file(path, PAIRS).problems == [
        f"{path}: column 'url' is missing (columns: caption, x)"
    ]


def test_wrong_type(tmp_path):
    path = _write_parquet(tmp_path / "urls.parquet", {"url": [1, 2, 3]})
    assert validate_file(path, PAIRS).problems == [
        f"{path}: column 'url': type int64, expected string"
    ]


def test_compatible_types_are_accepted(tmp_path):
    path = _write_parquet(
        tmp_path / "s.parquet",
        {
            "key": ["0"],
            "status": ["success"],
            "url": pa.array(["u"], pa.large_string()),
            "error_message": pa.array([None], pa.null()),
            "width": pa.array([3], pa.int64()),
            "height": [3],
            "original_width": [3],
            "original_height": [3],
        },
    )
    assert validate_file(path, load_schema("samples")).problems == []


def test_nulls_name_the_rows_counted_from_one(tmp_path):
    path = _write_parquet(tmp_path / "urls.parquet", {"url": _urls(100, null_rows={4, 17, 90})})
    assert validate_file(path, PAIRS).problems == [
        f"{path}: column 'url': 3 rows are null (rows 4, 17, 90)"
    ]


def test_nulls_across_row_groups_keep_global_row_numbers(tmp_path):
    path = _write_parquet(
        tmp_path / "urls.parquet",
        {"url": _urls(50, null_rows={12, 33, 34, 49})},
        row_group_size=10,
    )
    assert validate_file(path, PAIRS).problems == [
        f"{path}: column 'url': 4 rows are null (rows 12, 33, 34, ...)"
    ]


def test_single_null_row(tmp_path):
    path = _write_parquet(tmp_path / "urls.parquet", {"url": _urls(3, null_rows={2})})
    assert validate_file(path, PAIRS).problems == [f"{path}: column 'url': 1 row is null (row 2)"]


def test_empty_file(tmp_path):
    path = tmp_path / "urls.parquet"
    path.write_bytes(b"")
    assert validate_file(path, PAIRS).problems == [f"{path}: empty file (0 bytes)"]


def test_parquet_without_rows(tmp_path):
    path = _write_parquet(tmp_path / "urls.parquet", {"url": pa.array([], pa.string())})
    assert validate_file(path, PAIRS).problems == [
        f"{path}: no rows (the file has columns but no data)"
    ]


def test_not_parquet(tmp_path):
    path = tmp_path / "urls.parquet"
    path.write_text("url,caption\nhttp://x/a.jpg,a cat\n")
    assert validate_file(path, PAIRS).problems == [
        f"{path}: not a parquet file (no PAR1 magic bytes)"
    ]


def test_missing_file_and_unknown_suffix(tmp_path):
    missing = tmp_path / "nope.parquet"
    odd = tmp_path / "urls.xlsx"
    odd.write_text("x")
    assert validate_file(missing, PAIRS).problems == [f"{missing}: no such file"]
    assert validate_file(odd, PAIRS).problems == [
        f"{odd}: unsupported input format '.xlsx' (expected .parquet, .csv, .tsv, .json, .jsonl "
        "or .txt, optionally .gz)"
    ]


def test_csv_empty_fields_count_as_null(tmp_path):
    path = tmp_path / "urls.csv"
    path.write_text("url,caption\nhttp://h/a.jpg,a\n,b\nhttp://h/c.jpg,c\n")
    report = validate_file(path, PAIRS)
    assert report.rows == 3
    assert report.problems == [f"{path}: column 'url': 1 row is null (row 2)"]


def test_csv_with_ragged_rows_is_one_line(tmp_path):
    path = tmp_path / "urls.csv"
    path.write_text("url,caption\nhttp://h/a.jpg,a,extra\n")
    (problem,) = validate_file(path, PAIRS).problems
    assert problem.startswith(f"{path}: not a valid CSV file (")
    assert "\n" not in problem


def test_jsonl_wrong_type_and_garbage(tmp_path):
    good = tmp_path / "a.jsonl"
    good.write_text('{"url": 4, "caption": "x"}\n{"url": 5}\n')
    bad = tmp_path / "b.jsonl"
    bad.write_text('{"url": "http://h/a.jpg"\n')
    assert validate_file(good, PAIRS).problems == [
        f"{good}: column 'url': type int64, expected string"
    ]
    assert validate_file(bad, PAIRS).problems[0].startswith(f"{bad}: not a valid JSON lines file")
    mixed = tmp_path / "c.jsonl"
    mixed.write_text('{"url": "http://h/a.jpg"}\n{"url": 5}\n')
    (problem,) = validate_file(mixed, PAIRS).problems
    assert problem.startswith(f"{mixed}: not a valid JSON lines file (") and "url" in problem


def test_folder_validates_every_supported_file(tmp_path):
    _write_parquet(tmp_path / "a.parquet", {"url": _urls(2)})
    (tmp_path / "b.csv").write_text("caption\nx\n")
    (tmp_path / "notes.md").write_text("ignored")
    (tmp_path / ".a.parquet.tmp-1-ab").write_text("a temp file is ignored")
    reports = validate_input(tmp_path, PAIRS)
    assert [r.path.name for r in reports] == ["a.parquet", "b.csv"]
    assert reports[0].ok
    assert reports[1].problems == [
        f"{tmp_path / 'b.csv'}: column 'url' is missing (columns: caption)"
    ]


def test_empty_folder_is_a_problem(tmp_path):
    (report,) = validate_input(tmp_path, PAIRS)
    assert report.problems == [
        f"{tmp_path}: folder holds no input files (expected .parquet, .csv, .tsv, .json, .jsonl "
        "or .txt, optionally .gz)"
    ]


def test_require_valid_raises_first_problem_and_counts_the_rest(tmp_path):
    path = _write_parquet(tmp_path / "s.parquet", {"caption": ["a"]})
    with pytest.raises(InputError) as info:
        require_valid(path, load_schema("samples"))
    message = str(info.value)
    assert message == f"{path}: column 'url' is missing (columns: caption) (and 7 more problems)"
    assert len(info.value.problems) == 8


def test_required_override(tmp_path):
    path = _write_parquet(tmp_path / "u.parquet", {"url": _urls(1)})
    report = validate_file(path, PAIRS, required=["url", "caption"])
    assert report.problems == [f"{path}: column 'caption' is missing (columns: url)"]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.parquet", "parquet"),
        ("a.csv.gz", "csv"),
        ("a.tsv", "tsv"),
        ("a.jsonl", "jsonl"),
        ("a.txt", "txt"),
        ("a.txt.gz", "txt"),
        ("a.json", "jsonl"),
        ("noext", None),
    ],
)
def test_input_format(tmp_path, name, fmt):
    assert input_format(tmp_path / name) == fmt


def test_url_list_json_array_and_gz_inputs(tmp_path):
    """img2dataset's txt and json formats: one URL a line (commas and quotes kept), an array
    of objects; gzip read through."""
    urls = ["http://a/1.jpg", 'http://a/x,y "2".jpg']
    txt = tmp_path / "u.txt.gz"
    with gzip.open(txt, "wt") as handle:
        handle.write("\n".join(urls) + "\n\n")
    array = tmp_path / "u.json"
    array.write_text(json.dumps([{"url": u, "n": i} for i, u in enumerate(urls)]))
    for path, columns in ((txt, ["url"]), (array, ["url", "n"])):
        report = validate_file(path, PAIRS, required=["url"])
        assert report.ok and report.rows == 2, report.problems
        schema, batches = open_batches(path)
        table = pa.Table.from_batches(list(batches), schema)
        assert table.column_names == columns and table["url"].to_pylist() == urls
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    assert "holds objects only" in validate_file(bad, PAIRS).problems[0]

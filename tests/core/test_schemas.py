"""The table contracts load into Arrow schemas and match what other tools write."""

import pyarrow as pa
import pytest

from wit_pipeline.core.schemas import TABLES, load_schema, parse_type


@pytest.mark.parametrize("table", TABLES)
def test_every_table_loads_with_described_unique_fields(table):
    schema = load_schema(table)
    names = [f.name for f in schema.fields]
    assert len(names) == len(set(names))
    assert all(f.description.strip() for f in schema.fields)
    assert schema.arrow.names == names
    assert schema.required_columns, "a contract must require at least one column"


def test_samples_matches_img2dataset_parquet_columns():
    # img2dataset's writer appends these columns with these types (see its downloader.py).
    expected = {
        "url": pa.string(),
        "caption": pa.string(),
        "key": pa.string(),
        "status": pa.string(),
        "error_message": pa.string(),
        "width": pa.int32(),
        "height": pa.int32(),
        "original_width": pa.int32(),
        "original_height": pa.int32(),
        "exif": pa.string(),
        "sha256": pa.string(),
    }
    arrow = load_schema("samples").arrow
    for name, arrow_type in expected.items():
        assert arrow.field(name).type == arrow_type, name


def test_nullability_is_carried_into_arrow():
    arrow = load_schema("pairs").arrow
    assert not arrow.field("url").nullable
    assert arrow.field("caption").nullable


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("int32", pa.int32()),
        ("uint64", pa.uint64()),
        ("list<float32>", pa.list_(pa.float32())),
        ("list<list<string>>", pa.list_(pa.list_(pa.string()))),
        ("timestamp[us, UTC]", pa.timestamp("us", tz="UTC")),
    ],
)
def test_parse_type(text, expected):
    assert parse_type(text) == expected


def test_parse_type_rejects_unknown():
    with pytest.raises(ValueError, match="unknown Arrow type string 'decimal'"):
        parse_type("decimal")


def test_unknown_table_is_named():
    with pytest.raises(KeyError, match="unknown table 'pixels'"):
        load_schema("pixels")

"""`shard --format parquet`: the same shuffle, manifest and verify guarantees as the tars, and
Hugging Face `datasets` loads the shards with an Image feature."""

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import webdataset as wds
from datasets import Image, load_dataset
from PIL import Image as PILImage

from wit_pipeline.cli import main
from wit_pipeline.stages.shard import verify_shards


def _shard(workspace, *flags) -> int:
    return main(["-q", "--workdir", str(workspace.root), "shard", "--samples-per-shard", "4",
                 "--seed", "3", *flags])  # fmt: skip


def test_parquet_shards_match_the_tars_and_load_in_datasets(filtered_workspace, tmp_path):
    tars = tmp_path / "tars"
    assert _shard(filtered_workspace, "--out", str(tars)) == 0
    assert _shard(filtered_workspace, "--format", "parquet") == 0
    out = filtered_workspace.shards_dir
    files = sorted(out.glob("[0-9]*.parquet"))
    assert [f.stem for f in files] == sorted(t.stem for t in tars.glob("*.tar"))
    assert not list(out.glob("*.tar")) and not (out / "index.wids.json").exists()
    assert verify_shards(out, filtered_workspace) == []
    expected = {
        s["__key__"]: s
        for s in wds.WebDataset(sorted(str(t) for t in tars.glob("*.tar")), shardshuffle=False)
    }
    rows = [r for f in files for r in pq.read_table(f).to_pylist()]
    assert [r["key"] for r in rows] == list(expected)
    for row in rows:
        sample = expected[row["key"]]
        assert row["image"]["bytes"] == sample["jpg"] and row["caption"] == sample["txt"].decode()
        assert json.loads(row["json"]) == json.loads(sample["json"])
    manifest = pq.read_table(out / "manifest.parquet").to_pylist()
    assert [(m["key"], m["shard"]) for m in manifest] == [
        (r["key"], f.name) for f in files for r in pq.read_table(f, columns=["key"]).to_pylist()
    ]

    data = load_dataset("parquet", data_files=[str(f) for f in files], split="train")
    assert isinstance(data.features["image"], Image) and len(data) == len(rows)
    first = data[0]
    assert isinstance(first["image"], PILImage.Image) and first["caption"] == rows[0]["caption"]
    decoded = PILImage.open(io.BytesIO(rows[0]["image"]["bytes"]))
    assert first["image"].size == decoded.size


def test_parquet_shards_resume_and_a_row_without_image_is_a_problem(filtered_workspace):
    assert _shard(filtered_workspace, "--format", "parquet") == 0
    assert _shard(filtered_workspace, "--format", "parquet") == 0
    out = filtered_workspace.shards_dir
    first = out / "00000.parquet"
    table = pq.read_table(first)
    images = table["image"].to_pylist()
    images[1] = None
    broken = table.set_column(1, table.schema.field("image"), pa.array(images, table["image"].type))
    pq.write_table(broken, first)
    problems = verify_shards(out, filtered_workspace)
    assert problems[0] == f"00000.parquet: row 1 ({table['key'][1]}) has no image bytes"
    assert problems[1].startswith("00000.parquet: ") and "its marker says" in problems[1]
    assert len(problems) == 2

"""Input parity with img2dataset 1.47: the same URL list in each input format img2dataset reads
(txt, txt.gz, csv, tsv, json, jsonl, parquet, a folder of files), on the same loopback URLs:
our download gives the same shards, keys, URLs, captions, statuses, tar members and image bytes
as img2dataset. img2dataset runs on three of them (txt: no caption column; parquet; a folder:
a shard per file); its readers give every other format the same rows as one of those, so each
of ours is compared with the matching run (keeps the test to three img2dataset runs)."""

import dataclasses
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import webdataset as wds

from tests.workspaces import FAST
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.download import InputSpec, ResizeOptions, download

KINDS = ("ok", "not_found", "gone", "corrupt_image", "noai")
PER_SHARD = 8
SIZE = 64
FORMATS = ("txt", "txt.gz", "csv", "tsv", "json", "jsonl", "parquet", "folder")
REFERENCE = {"txt.gz": "txt", "csv": "parquet", "tsv": "parquet", "json": "parquet"}
REFERENCE |= {"jsonl": "parquet", "txt": "txt", "parquet": "parquet", "folder": "folder"}
"""The img2dataset run each format's output is compared with."""
EXTRAS = ("n", "score")
"""Extra columns saved (`save_additional_columns`) from the inputs that have them: an int64 and
a float64, kept in their types by both tools."""
COMPARED = ("key", "url", "caption", "status", "width", "height", "original_width", *EXTRAS)

SCRIPT = """
import json, sys
from img2dataset import download

for run in json.loads(sys.argv[1]):
    download(output_format="webdataset", processes_count=1, thread_count=8, retries=0,
             timeout=3, image_size=int(sys.argv[2]), number_sample_per_shard=int(sys.argv[3]),
             **run)
"""
"""img2dataset's own `download` (what its command line runs), every input in one process."""


def _write_inputs(folder: Path, rows: list[dict]) -> dict[str, Path]:
    """The same rows in every input format, as img2dataset's users write them."""
    table = pa.table(
        {
            "url": [r["url"] for r in rows],
            "caption": [r["caption"] for r in rows],
            "n": pa.array(range(len(rows)), pa.int64()),
            "score": pa.array([i / 4 for i in range(len(rows))], pa.float64()),
        }
    )
    lines = "".join(f"{r['url']}\n" for r in rows)
    paths = {name: folder / f"urls.{name}" for name in FORMATS if name != "folder"}
    paths["txt"].write_text(lines)
    with gzip.open(paths["txt.gz"], "wt") as handle:
        handle.write(lines)
    pacsv.write_csv(table, paths["csv"])
    pacsv.write_csv(table, paths["tsv"], pacsv.WriteOptions(delimiter="\t"))
    paths["json"].write_text(json.dumps(table.to_pylist()))
    paths["jsonl"].write_text("".join(json.dumps(r) + "\n" for r in table.to_pylist()))
    pq.write_table(table, paths["parquet"])
    (folder / "parts").mkdir()
    plain = table.select(["url", "caption"])
    pq.write_table(plain.slice(0, 11), folder / "parts" / "a.parquet")
    pq.write_table(plain.slice(11), folder / "parts" / "b.parquet")
    paths["folder"] = folder / "parts"
    return paths


def _img2dataset_runs(paths: dict[str, Path], out: Path) -> None:
    runs = [
        {
            "url_list": str(path),
            "input_format": "parquet" if name == "folder" else name,
            "caption_col": None if name.startswith("txt") else "caption",
            "save_additional_columns": list(EXTRAS) if name == "parquet" else None,
            "output_folder": str(out / name),
        }
        for name, path in paths.items()
        if REFERENCE[name] == name
    ]
    command = [sys.executable, "-c", SCRIPT, json.dumps(runs), str(SIZE), str(PER_SHARD)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def _shards(folder: Path) -> dict[str, tuple[list[tuple], dict[str, dict[str, bytes]]]]:
    """Each shard's parquet rows (compared columns with their types, by key) and tar members
    by key."""
    found = {}
    for parquet in sorted(folder.glob("[0-9]*.parquet")):
        table = pq.read_table(parquet)
        columns = [c for c in COMPARED if c in table.column_names]
        types = tuple(str(table.schema.field(c).type) for c in columns)
        rows = [types, *sorted(tuple(r[c] for c in columns) for r in table.to_pylist())]
        tar = str(parquet.with_suffix(".tar"))
        members = {
            s["__key__"]: {k: v for k, v in s.items() if not k.startswith("__")}
            for s in wds.WebDataset(tar, shardshuffle=False)
        }
        for sample in members.values():
            sample.pop("json", None)  # img2dataset's meta: its own error text and columns
        found[parquet.stem] = (rows, members)
    return found


@pytest.fixture(scope="module")
def both_outputs(tmp_path_factory, testweb, testweb_truth) -> dict[str, tuple[Path, Path]]:
    """(img2dataset's output, ours) for every input format."""
    root = tmp_path_factory.mktemp("parity")
    picked = [r for r in testweb_truth if r["kind"] in KINDS]
    rows = [{"url": r["url"], "caption": r["true_caption"] or "a caption"} for r in picked]
    paths = _write_inputs(root, rows)
    _img2dataset_runs(paths, root / "img2dataset")
    # the Resizer's exact pixels (the default pillow backend trades them for speed)
    resize = ResizeOptions(image_size=SIZE, resize_backend="img2dataset")
    options = dataclasses.replace(FAST, resize=resize)
    outputs = {}
    for name, path in paths.items():
        workspace = Workspace(root / "ours" / name)
        caption = None if name.startswith("txt") else "caption"
        extras = EXTRAS if REFERENCE[name] == "parquet" else ()
        spec = InputSpec(
            path, caption_col=caption, samples_per_shard=PER_SHARD, extra_columns=extras
        )
        download(workspace, spec, options)
        outputs[name] = (root / "img2dataset" / REFERENCE[name], workspace.raw_dir)
    return outputs


@pytest.mark.parametrize("name", FORMATS)
def test_same_shards_rows_and_images_as_img2dataset(both_outputs, name):
    theirs, ours = (_shards(folder) for folder in both_outputs[name])
    assert list(ours) == list(theirs) and len(ours) >= 3
    for shard, (rows, members) in theirs.items():
        assert ours[shard][0] == rows, (shard, ours[shard][0][0], rows[0])
        assert ours[shard][1] == members, shard
    if REFERENCE[name] == "parquet":
        assert next(iter(ours.values()))[0][0][-2:] == ("int64", "double")
    samples = [m for _, members in theirs.values() for m in members.values()]
    assert samples and all(("txt" in m) == (not name.startswith("txt")) for m in samples)

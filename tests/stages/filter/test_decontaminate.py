"""Eval sets load from fsspec URLs as from folders, hashed as the score phase hashes samples,
and an eval image found cropped, padded or mirrored in the pool is caught."""

import io
import tarfile

import fsspec
import pyarrow.parquet as pq
from PIL import Image

from wit_pipeline.cli import main
from wit_pipeline.stages.filter.decontaminate import load_eval_sets
from wit_pipeline.stages.filter.sample_facts import decode, image_hashes


def _jpeg(colour: str) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (300, 200), colour)
    image.paste("white", (40, 30, 160, 120))
    image.save(out, "JPEG")
    return out.getvalue()


def _tar(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_eval_sets_load_from_a_url(memory_url):
    fs = fsspec.filesystem("memory")
    direct, inside = _jpeg("teal"), _jpeg("orange")
    fs.pipe(f"{memory_url}/a.jpg", direct)
    fs.pipe(f"{memory_url}/notes.txt", b"not an image")
    fs.pipe(f"{memory_url}/shards/part/00000.tar", _tar({"x.jpg": inside, "x.txt": b"cap"}))
    sets = load_eval_sets(memory_url)
    assert [s.name for s in sets] == [memory_url.split("://")[1], "shards"]
    assert [s.size for s in sets] == [1, 1]
    for eval_set, data in zip(sets, (direct, inside), strict=True):
        views = image_hashes(decode(data))[2]
        assert eval_set.views.phash.tolist() == [v.phash for v in views]
        assert eval_set.views.sample.tolist() == [0] * len(views)


def test_filter_decontaminates_against_a_url(
    workspace_copy, testweb_web, testweb_truth, memory_url, capsys
):
    fs = fsspec.filesystem("memory")
    originals = [r for r in testweb_truth if r["kind"] == "ok" and r["format"] == "png"][:3]
    for row in originals:
        image = testweb_web.image_bytes(row["image_id"])
        fs.pipe(f"{memory_url}/shapes-test/{row['image_id']}.png", image)
    args = ["--workdir", str(workspace_copy.root), "filter", "--clip-model", "none"]
    assert main([*args, "--decontaminate", memory_url, "--workers", "0"]) == 0
    decisions = pq.read_table(workspace_copy.decisions_path).to_pylist()
    assert any(d["reason"] == "eval_overlap" and d["detail"] == "shapes-test" for d in decisions)
    assert "eval overlap shapes-test:" in capsys.readouterr().out

"""End to end on real photographs served on loopback: download, then filter with the default
flags, as a user runs them. Each photo's padded, cropped, mirrored and re-encoded copies are
dropped as duplicates of the original, no photo is taken for another, and an eval image whose
mirrored copy is in the pool is caught by the decontamination."""

import io

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageOps

from wit_pipeline.cli import main
from wit_pipeline.testweb.photo_site import publish, serve

PHOTOS = ("skimage-astronaut", "skimage-coffee", "matplotlib-grace_hopper")
EDITS = ("jpeg_q75", "crop_3", "pad_square_white", "mirror")
EVAL_PHOTO = "skimage-chelsea"


def _picture_of(site: dict, url: str) -> tuple[str, str]:
    return site["/" + url.split("/", 3)[3]][1:]


def test_copies_of_real_photos_are_dropped_and_an_eval_photo_is_caught(
    tmp_path, real_photos, capsys
):
    site = publish({name: real_photos[name] for name in PHOTOS}, EDITS)
    mirrored = Image.open(io.BytesIO(real_photos[EVAL_PHOTO])).convert("RGB")
    body = io.BytesIO()
    ImageOps.mirror(mirrored).save(body, "JPEG", quality=90)
    site["/eval/mirrored.jpg"] = (body.getvalue(), EVAL_PHOTO, "mirror")
    evals = tmp_path / "evals" / "cats"
    evals.mkdir(parents=True)
    (evals / "chelsea.jpg").write_bytes(real_photos[EVAL_PHOTO])
    workdir = tmp_path / "wit-data"
    with serve(site) as origin:
        pairs = tmp_path / "pairs.parquet"
        urls = [origin + path for path in sorted(site)]
        pq.write_table(pa.table({"url": urls, "caption": ["a photo"] * len(urls)}), pairs)
        base = ["--workdir", str(workdir)]
        assert main([*base, "-q", "download", str(pairs), "--allow-private-networks"]) == 0
    filter_args = ["filter", "--clip-model", "none", "--workers", "0"]
    assert main([*base, *filter_args, "--decontaminate", str(tmp_path / "evals")]) == 0
    assert "eval overlap cats: 100.0% (1 of 1)" in capsys.readouterr().out
    raw = pq.read_table(sorted((workdir / "raw").glob("*.parquet"))[0]).to_pylist()
    pictures = {r["key"]: _picture_of(site, r["url"]) for r in raw if r["status"] == "success"}
    assert len(pictures) == len(site)
    decisions = {d["key"]: d for d in pq.read_table(workdir / "decisions.parquet").to_pylist()}
    for key, (picture, edit) in pictures.items():
        decision = decisions[key]
        if picture == EVAL_PHOTO:
            assert decision["reason"] == "eval_overlap"
        elif edit == "original":
            assert decision["keep"], picture
        else:
            assert decision["reason"] == "duplicate", (picture, edit)
            assert pictures[decision["duplicate_of"]] == (picture, "original")
            assert decision["duplicate_edit"] is not None
            change = decision["duplicate_texture_change"]
            assert change is not None and change >= 0, (picture, edit)
    mirrors = [
        decisions[key]["duplicate_edit"]
        for key, (picture, edit) in pictures.items()
        if edit == "mirror" and picture != EVAL_PHOTO
    ]
    assert all(text.endswith("mirrored") for text in mirrors) and len(mirrors) == len(PHOTOS)
    # The texture check reaches the decisions: with no allowance, copies met through a crop
    # view (their signatures differ a little) are duplicates no more.
    crops = [key for key, d in decisions.items() if "crop" in (d["duplicate_edit"] or "")]
    assert crops
    assert main([*base, *filter_args, "--decide-only", "--dedupe-texture-change", "0"]) == 0
    strict = {d["key"]: d for d in pq.read_table(workdir / "decisions.parquet").to_pylist()}
    assert any(strict[key]["reason"] != "duplicate" for key in crops)

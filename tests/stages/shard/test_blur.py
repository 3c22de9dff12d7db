"""Blurring before writing: boxes drawn per sample on the test web (img2dataset's bbox_col
format), the detector hook on real faces, the manifest's flag."""

import io
import json
import tarfile

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from tests.conftest import REAL_PHOTOS
from tests.workspaces import FAST
from wit_pipeline.cli import main
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.download import InputSpec, download
from wit_pipeline.stages.shard.blur import blur_image, parse_boxes, stored_boxes
from wit_pipeline.stages.shard.detect import load_detector

BOX = [0.2, 0.3, 0.6, 0.7]
HAAR = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"


@pytest.fixture(scope="module")
def boxed_workspace(testweb, testweb_truth, tmp_path_factory) -> Workspace:
    """The test web's good images downloaded with a `bbox` column (a box on every other
    one; as JSON text: the download keeps extra columns as strings), filtered without CLIP."""
    root = tmp_path_factory.mktemp("boxed")
    rows = [r for r in testweb_truth if r["kind"] == "ok"]
    table = pa.table(
        {
            "url": [r["url"] for r in rows],
            "caption": [r["true_caption"] or "a caption" for r in rows],
            "bbox": [json.dumps([BOX]) if i % 2 == 0 else "[]" for i in range(len(rows))],
        }
    )
    pq.write_table(table, root / "urls.parquet")
    workspace = Workspace(root / "w")
    download(workspace, InputSpec(root / "urls.parquet", extra_columns=("bbox",)), FAST)
    args = ["--workdir", str(workspace.root), "-q", "filter", "--clip-model", "none"]
    assert main([*args, "--workers", "0", "--no-dedupe"]) == 0
    return workspace


def _shard_images(folder) -> dict[str, Image.Image]:
    images = {}
    for path in sorted(folder.glob("*.tar")):
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                if member.name.endswith(".jpg"):
                    data = tar.extractfile(member).read()
                    images[member.name[:-4]] = Image.open(io.BytesIO(data)).convert("RGB")
    return images


def _raw_images(workspace) -> dict[str, Image.Image]:
    return _shard_images(workspace.raw_dir)


def test_drawn_boxes_are_blurred_and_flagged(boxed_workspace):
    args = ["--workdir", str(boxed_workspace.root), "-q", "shard", "--samples-per-shard", "8"]
    assert main([*args, "--blur-boxes", "bbox"]) == 0
    shards = boxed_workspace.root / "shards"
    manifest = pq.read_table(shards / "manifest.parquet").to_pylist()
    raw_rows = {
        r["key"]: r for r in pq.read_table(boxed_workspace.raw_dir / "00000.parquet").to_pylist()
    }
    flagged = {m["raw_key"] for m in manifest if m["blurred"]}
    boxed = {m["raw_key"] for m in manifest if json.loads(raw_rows[m["raw_key"]]["bbox"])}
    assert flagged == boxed and boxed and len(boxed) < len(manifest)
    written, raw = _shard_images(shards), _raw_images(boxed_workspace)
    inside = outside = 0.0
    for row in manifest:
        before, after = raw[row["raw_key"]], written[row["key"]]
        width, height = after.size
        diff = np.abs(np.asarray(after, float) - np.asarray(before, float)).mean(axis=2)
        if row["raw_key"] not in boxed:
            assert diff.max() == 0, "samples without boxes are copied byte for byte"
            continue
        original = (
            raw_rows[row["raw_key"]]["original_width"],
            raw_rows[row["raw_key"]]["original_height"],
        )
        x0, y0, x1, y1 = stored_boxes([tuple(BOX)], original, (width, height), "border")[0]
        inner = diff[
            int(y0 * height) + 2 : int(y1 * height) - 2, int(x0 * width) + 2 : int(x1 * width) - 2
        ]
        grow = 0.1 * max((x1 - x0) * width, (y1 - y0) * height) * 4
        far = np.ones_like(diff, bool)
        far[
            max(0, int(y0 * height - grow)) : int(y1 * height + grow),
            max(0, int(x0 * width - grow)) : int(x1 * width + grow),
        ] = False
        inside += inner.mean()
        outside += diff[far].mean() if far.any() else 0.0
    assert inside > 5 * outside, (inside, outside)


def test_letterboxed_boxes_map_onto_the_content():
    # a 200x100 picture stored letterboxed in 64x64: content 64x32 from y=16
    assert stored_boxes([(0.0, 0.0, 1.0, 1.0)], (200, 100), (64, 64), "border") == [
        (0.0, 0.25, 1.0, 0.75)
    ]
    # centre-cropped: content 128x64 scaled, x from -32 to 96 of 64
    x0, _, x1, _ = stored_boxes([(0.25, 0.0, 0.75, 1.0)], (200, 100), (64, 64), "center_crop")[0]
    assert (x0, x1) == (0.0, 1.0)
    assert stored_boxes([(0.1, 0.2, 0.3, 0.4)], (200, 100), (64, 32), "keep_ratio") == [
        (0.1, 0.2, 0.3, 0.4)
    ]


@pytest.mark.parametrize("value", [[[0.5, 0.5, 0.4, 0.9]], [[0.1, 0.2, 0.3]], "[[0, 0, 2, 1]]"])
def test_bad_boxes_are_refused(value):
    with pytest.raises(ValueError):
        parse_boxes(value)


def test_haar_detector_finds_and_blurs_real_faces():
    detector = load_detector(HAAR)
    face = Image.open(REAL_PHOTOS / "skimage-astronaut.jpg").convert("RGB")
    boxes = detector.boxes(face)
    assert len(boxes) == 1
    x0, y0, x1, y1 = boxes[0]
    assert 0.3 < x0 < x1 < 0.6 and 0.1 < y0 < y1 < 0.35, "the astronaut's face"
    assert detector.boxes(Image.open(REAL_PHOTOS / "skimage-brick.jpg").convert("RGB")) == []
    blurred = np.asarray(blur_image(face, boxes), float)
    diff = np.abs(blurred - np.asarray(face, float)).mean(axis=2)
    w, h = face.size
    assert diff[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)].mean() > 5
    assert diff[int(0.7 * h) :, :].max() == 0, "far from the face nothing changes"


def test_face_detector_through_shard_and_bad_inputs_exit_2(boxed_workspace, tmp_path, capsys):
    args = ["--workdir", str(boxed_workspace.root), "-q", "shard", "--out", str(tmp_path / "s")]
    assert main([*args, "--face-detector", HAAR]) == 0
    manifest = pq.read_table(tmp_path / "s" / "manifest.parquet").to_pylist()
    assert manifest and all(m["blurred"] is not None for m in manifest)
    (tmp_path / "junk.xml").write_text("<nothing/>")
    assert main([*args, "--face-detector", str(tmp_path / "junk.xml")]) == 2
    assert "not an OpenCV cascade" in capsys.readouterr().err
    assert main([*args, "--blur-boxes", "faces"]) == 2
    assert "no column 'faces' for --blur-boxes" in capsys.readouterr().err

"""What a user sets for `shard`: its flags on the command line, its keys in a run config."""

from __future__ import annotations

from dataclasses import dataclass

from wit_pipeline.core.options import StageOptions, option, positive_int, shard_size


@dataclass(frozen=True)
class Options(StageOptions):
    """The shard stage's options."""

    samples_per_shard: int = option(
        10_000,
        "samples per shard; every shard is full but the last (default: 10000)",
        type=shard_size,
    )
    seed: int = option(0, "shuffle seed (default: 0)", type=int)
    out: str | None = option(
        None,
        "output folder: a path or an fsspec URL such as s3://bucket/shards (default: W/shards)",
        metavar="PATH",
    )
    blur_boxes: str | None = option(
        None,
        "blur the boxes in this raw metadata column (img2dataset's bbox_col: a list of "
        "[x_min, y_min, x_max, y_max] in [0, 1]) before writing; blurred samples are flagged "
        "in the manifest",
        metavar="COLUMN",
    )
    face_detector: str | None = option(
        None,
        "also blur the faces this model finds (OpenCV Haar cascade .xml or YuNet .onnx)",
        metavar="FILE",
        input_file=True,
    )
    processes: int = option(
        1, "shards written at once (default: 1)", type=positive_int, runtime=True
    )

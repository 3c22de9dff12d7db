"""What a user sets for `adopt`: its flags on the command line, its keys in a run config."""

from __future__ import annotations

from dataclasses import dataclass

from wit_pipeline.core.options import StageOptions, option, positive_int

RESIZE_MODES = ("no", "border", "keep_ratio", "keep_ratio_largest", "center_crop")


@dataclass(frozen=True)
class Options(StageOptions):
    """The adopt stage's options."""

    path: str = option(
        help="img2dataset output folder (webdataset, parquet or files output format): a path "
        "or an fsspec URL such as s3://bucket/out",
        positional=True,
        metavar="FOLDER",
    )
    resize_mode: str = option(
        "border",
        "the --resize_mode img2dataset ran with (its stats do not record it; filter cuts "
        "border padding away only for border; default: border, img2dataset's default)",
        choices=RESIZE_MODES,
    )
    skip_damaged: bool = option(
        False, "adopt the sound shards and leave the damaged ones out (default: refuse all)"
    )
    overwrite: bool = option(False, "delete raw/ first (needed to adopt another folder there)")
    processes: int = option(
        1, "shards copied at once (default: 1)", type=positive_int, runtime=True
    )

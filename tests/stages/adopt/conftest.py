"""Fixtures of the adopt tests: output folders written by the real img2dataset CLI from the
session's loopback test web, one per output format."""

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

KINDS = ("ok", "not_found", "gone", "html_as_image", "corrupt_image", "noai")
"""Test web kinds that answer at once: successes and quick failures of every sort."""
FORMATS = ("webdataset", "parquet", "files")
SAMPLES_PER_SHARD = 16


SCRIPT = """
import sys
from img2dataset import download

for output_format in sys.argv[4:]:
    download(
        url_list=sys.argv[1],
        input_format="parquet",
        url_col="url",
        caption_col="caption",
        output_format=output_format,
        output_folder=f"{sys.argv[2]}/{output_format}",
        processes_count=1,
        thread_count=8,
        number_sample_per_shard=int(sys.argv[3]),
        image_size=64,
        timeout=3,
        retries=0,
    )
"""
"""img2dataset's `download`, the function its command line runs (`img2dataset --url_list ...`
is `fire.Fire(download)`), once per output format in one process: one import of img2dataset
instead of three on a busy machine."""


def run_img2dataset(urls: Path, out: Path, formats: tuple[str, ...]) -> dict[str, Path]:
    """img2dataset 1.47 itself on `urls`, in a process of its own: one output folder per format."""
    command = [sys.executable, "-c", SCRIPT, str(urls), str(out), str(SAMPLES_PER_SHARD), *formats]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return {f: out / f for f in formats}


@pytest.fixture(scope="session")
def adopt_urls(tmp_path_factory, testweb, testweb_truth) -> tuple[Path, list[dict]]:
    """A url/caption parquet of the quick test web kinds, and its ground-truth rows."""
    rows = [r for r in testweb_truth if r["kind"] in KINDS]
    path = tmp_path_factory.mktemp("adopt_input") / "urls.parquet"
    captions = [r["true_caption"] or "a caption" for r in rows]
    pq.write_table(pa.table({"url": [r["url"] for r in rows], "caption": captions}), path)
    return path, rows


@pytest.fixture(scope="session")
def img2dataset_output(tmp_path_factory, adopt_urls) -> dict[str, Path]:
    """img2dataset output folders by output format (read-only: tests copy what they change)."""
    return run_img2dataset(adopt_urls[0], tmp_path_factory.mktemp("img2dataset"), FORMATS)

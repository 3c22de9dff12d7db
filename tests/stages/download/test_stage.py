"""The download stage end to end against the local test web, every fault kind included."""

import hashlib
import io
import json
import tarfile
import time
from dataclasses import replace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import webdataset as wds
from PIL import Image

from tests.stages.download.conftest import EXPECTED_CODE
from tests.workspaces import FAST, write_urls
from wit_pipeline.cli import main
from wit_pipeline.core.markers import Markers
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.core.validate import validate_file
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.download import InputSpec, download
from wit_pipeline.status import workspace_status


def _samples(workspace):
    return [
        row
        for f in sorted(workspace.raw_dir.glob("[0-9]*.parquet"))
        for row in pq.read_table(f).to_pylist()
    ]


@pytest.fixture(scope="module")
def downloaded(every_kind_urls):
    path, truth = every_kind_urls
    workspace = Workspace(path.parent / "w")
    start = time.monotonic()
    summary = download(workspace, InputSpec(path, samples_per_shard=32), FAST)
    return workspace, truth, summary, time.monotonic() - start


def test_every_fault_gets_its_error_code_and_every_row_appears_once(downloaded):
    workspace, truth, summary, _ = downloaded
    samples = _samples(workspace)
    assert [s["url"] for s in samples] == [r["url"] for r in truth]
    assert len({s["key"] for s in samples}) == len(truth)
    for sample, row in zip(samples, truth, strict=True):
        assert sample["error_code"] == EXPECTED_CODE[row["kind"]], (row["kind"], sample)
        assert (sample["status"] == "success") == (EXPECTED_CODE[row["kind"]] is None)
        assert " at 0x" not in (sample["error_message"] or ""), "run-dependent message"
    assert summary.rows == len(truth)
    assert summary.status["success"] == sum(1 for r in truth if EXPECTED_CODE[r["kind"]] is None)


def test_run_ends_within_the_deadline_bound(downloaded):
    # Fault endpoints would hold a naive client for minutes (drip, slow, huge bodies); with a 1 s
    # deadline and one retry, each costs at most a few seconds, and they run concurrently.
    assert downloaded[3] < 30


def test_bomb_is_refused_from_its_header(downloaded):
    workspace = downloaded[0]
    bomb = next(s for s in _samples(workspace) if s["error_code"] == "too_many_pixels")
    assert "40000x40000" in bomb["error_message"] and bomb["status"] == "failed_to_resize"


def test_output_is_img2dataset_layout_read_by_webdataset(downloaded):
    workspace = downloaded[0]
    samples = {s["key"]: s for s in _samples(workspace)}
    tars = sorted(workspace.raw_dir.glob("[0-9]*.tar"))
    assert [t.stem for t in tars] == [
        p.stem for p in sorted(workspace.raw_dir.glob("[0-9]*.parquet"))
    ]
    seen = []
    for sample in wds.WebDataset([str(t) for t in tars], shardshuffle=False):
        meta = json.loads(sample["json"])
        key = sample["__key__"]
        assert samples[key]["status"] == "success" and meta["url"] == samples[key]["url"]
        assert sample["txt"].decode() == samples[key]["caption"]
        image = Image.open(io.BytesIO(sample["jpg"]))
        assert image.size == (256, 256) == (samples[key]["width"], samples[key]["height"])
        seen.append(key)
    assert sorted(seen) == sorted(k for k, s in samples.items() if s["status"] == "success")
    for tar in tars:
        with tarfile.open(tar) as archive:
            names = archive.getnames()
        assert all(n.split(".", 1)[1] in ("jpg", "txt", "json") for n in names)
    for parquet in workspace.raw_dir.glob("[0-9]*.parquet"):
        assert validate_file(parquet, load_schema("samples")).ok
    stats = json.loads((workspace.raw_dir / "00000_stats.json").read_text())
    assert (
        stats["count"] == 32
        and stats["successes"] + stats["failed_to_download"] + stats["failed_to_resize"] == 32
    )


def test_sha256_and_original_size_match_the_served_image(downloaded, testweb_web):
    workspace, truth, _, _ = downloaded
    by_url = {r["url"]: r for r in truth}

    checked = 0
    for sample in _samples(workspace):
        row = by_url[sample["url"]]
        if row["kind"] == "ok" and row["format"] != "gif":
            assert (sample["original_width"], sample["original_height"]) == (
                row["width"],
                row["height"],
            )
            assert (
                sample["sha256"]
                == hashlib.sha256(testweb_web.image_bytes(row["image_id"])).hexdigest()
            )
            checked += 1
    assert checked > 20


def test_rerun_resumes_and_status_reads_complete(downloaded):
    workspace, truth, _, _ = downloaded
    again = download(
        workspace, InputSpec(workspace.root.parent / "urls.parquet", samples_per_shard=32), FAST
    )
    assert again.shards_run == 0 and again.shards_skipped == again.shards
    assert again.rows == len(truth)
    raw = next(s for s in workspace_status(workspace) if s.stage == "raw")
    assert (raw.state, raw.rows, raw.units_done) == ("complete", len(truth), again.shards)
    assert Markers(workspace.raw_dir).stage_done()


def test_bad_rows_fail_with_a_reason_never_crash(tmp_path, testweb):
    good = f"{testweb.origin}/static/logo.png"

    pq.write_table(
        pa.table(
            {
                "url": [good, None, "", "ftp://x/y.jpg", "not a url", good],
                "caption": ["logo", "a", "b", "c", "d", None],
            }
        ),
        tmp_path / "u.parquet",
    )
    workspace = Workspace(tmp_path / "w")
    download(workspace, InputSpec(tmp_path / "u.parquet"), FAST)
    samples = _samples(workspace)
    codes = [s["error_code"] for s in samples]
    assert codes == [None, "invalid_url", "invalid_url", "invalid_url", "invalid_url", None]
    # a null caption is kept, with an empty .txt, as img2dataset keeps it
    assert samples[-1]["status"] == "success" and samples[-1]["caption"] is None
    tar = wds.WebDataset(str(workspace.raw_dir / "00000.tar"), shardshuffle=False)
    assert {s["__key__"]: s["txt"] for s in tar}[samples[-1]["key"]] == b""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "{path}: empty file (0 bytes)"),
        (b"url,caption\n", "{path}: not a parquet file (no PAR1 magic bytes)"),
    ],
)
def test_bad_input_file_exit_2_and_nothing_written(tmp_path, capsys, content, message):
    path = tmp_path / "urls.parquet"
    path.write_bytes(content)
    assert main(["--workdir", str(tmp_path / "w"), "download", str(path)]) == 2
    assert capsys.readouterr().err == f"wit-pipeline: error: {message.format(path=path)}\n"
    assert not (tmp_path / "w").exists()


def test_missing_url_column_names_it(tmp_path, capsys):
    path = tmp_path / "urls.csv"
    path.write_text("link,caption\nhttp://x/a.jpg,a b\n")
    assert main(["--workdir", str(tmp_path / "w"), "download", str(path), "--url-col", "src"]) == 2
    assert capsys.readouterr().err == (
        f"wit-pipeline: error: {path}: column 'src' is missing (columns: link, caption)\n"
    )
    assert not (tmp_path / "w").exists()


def test_another_input_into_the_same_raw_needs_overwrite(tmp_path, testweb, capsys):
    rows = [{"url": f"{testweb.origin}/static/logo.png", "true_caption": "a logo"}]
    first = write_urls(tmp_path / "a.parquet", rows)
    second = write_urls(tmp_path / "b.parquet", rows * 2)
    workdir = str(tmp_path / "w")
    common = ["--allow-private-networks", "--processes", "1", "-q"]
    assert main(["--workdir", workdir, "download", str(first), *common]) == 0
    assert main(["--workdir", workdir, "download", str(second), *common]) == 2
    assert "use --overwrite to start over" in capsys.readouterr().err
    assert main(["--workdir", workdir, "download", str(second), "--overwrite", *common]) == 0
    assert len(_samples(Workspace(tmp_path / "w"))) == 2


def test_private_addresses_are_refused_by_default(tmp_path, testweb):
    rows = [{"url": f"{testweb.origin}/static/logo.png", "true_caption": "a logo"}]
    path = write_urls(tmp_path / "a.parquet", rows)
    workspace = Workspace(tmp_path / "w")
    assert (
        main(["--workdir", str(workspace.root), "download", str(path), "--processes", "1", "-q"])
        == 0
    )
    (sample,) = _samples(workspace)
    assert sample["error_code"] == "ssrf_blocked" and "127.0.0.1" in sample["error_message"]


def test_pairs_of_the_workspace_are_the_default_input(tmp_path, testweb):
    workspace = Workspace(tmp_path / "w").create()
    write_urls(
        workspace.pairs_dir / "part-00000.parquet",
        [{"url": f"{testweb.origin}/static/logo.png", "true_caption": "the logo"}],
    )
    Markers(workspace.pairs_dir).mark_stage_done()
    assert (
        main(
            [
                "--workdir",
                str(workspace.root),
                "download",
                "--allow-private-networks",
                "--processes",
                "1",
                "-q",
            ]
        )
        == 0
    )
    (sample,) = _samples(workspace)
    assert sample["status"] == "success" and sample["caption"] == "the logo"


def test_retry_failed_refetches_only_transient_failures(tmp_path, testweb, testweb_truth):
    kinds = ("ok", "slow_first_byte", "not_found", "connection_reset")
    rows = [next(r for r in testweb_truth if r["kind"] == kind) for kind in kinds]
    path = write_urls(tmp_path / "u.parquet", rows)
    workspace = Workspace(tmp_path / "w")
    download(workspace, InputSpec(path), FAST)
    before = _samples(workspace)
    assert [s["error_code"] for s in before] == [None, "timeout", "http_404", "connection_error"]
    tar = workspace.raw_dir / "00000.tar"
    with tarfile.open(tar) as archive:
        first_image = archive.extractfile(f"{before[0]['key']}.jpg").read()

    patient = replace(FAST, retry_failed=True, fetch=replace(FAST.fetch, timeout=5.0, retries=0))
    summary = download(workspace, InputSpec(path), patient)
    after = _samples(workspace)
    assert summary.retried == 2
    assert [s["error_code"] for s in after] == [None, None, "http_404", "connection_error"]
    assert [s["key"] for s in after] == [s["key"] for s in before]
    with tarfile.open(tar) as archive:
        assert archive.extractfile(f"{before[0]['key']}.jpg").read() == first_image
        assert f"{after[1]['key']}.jpg" in archive.getnames()
    stats = json.loads((workspace.raw_dir / "00000_stats.json").read_text())
    assert (stats["successes"], stats["failed_to_download"]) == (2, 2)
    assert not (workspace.raw_dir / ".retry").exists()


def test_retry_failed_needs_a_finished_download(tmp_path, testweb, testweb_truth, capsys):
    path = write_urls(tmp_path / "u.parquet", testweb_truth[:2])
    assert (
        main(
            [
                "--workdir",
                str(tmp_path / "w"),
                "download",
                str(path),
                "--retry-failed",
                "--processes",
                "1",
            ]
        )
        == 2
    )
    assert "is not downloaded yet; run download without --retry-failed first" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize("column", ["caption", "url", "status"])
def test_additional_columns_cannot_clash(tmp_path, capsys, column):
    path = tmp_path / "u.csv"
    path.write_text("url,caption,status\nhttp://x.test/a.jpg,a b,x\n")
    assert (
        main(
            [
                "--workdir",
                str(tmp_path / "w"),
                "download",
                str(path),
                "--save-additional-columns",
                column,
            ]
        )
        == 2
    )
    assert f"--save-additional-columns: {column!r} is written anyway" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()


def test_unfinished_pairs_are_refused(tmp_path, capsys):
    workspace = Workspace(tmp_path / "w").create()
    write_urls(
        workspace.pairs_dir / "part-00000.parquet",
        [{"url": "http://x.test/a.jpg", "true_caption": "a b"}],
    )
    assert main(["--workdir", str(workspace.root), "download"]) == 2
    assert "scrape has not finished there" in capsys.readouterr().err
    assert not workspace.raw_dir.exists() or not any(workspace.raw_dir.iterdir())


def test_ray_address_needs_the_ray_distributor(tmp_path, capsys):
    assert main(["--workdir", str(tmp_path), "download", "x.parquet", "--ray-address", "auto"]) == 2
    assert "--ray-address needs --engine ray" in capsys.readouterr().err

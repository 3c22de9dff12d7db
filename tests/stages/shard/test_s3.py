"""Shards on S3: `shard --out s3://...` and `verify-shards s3://...` against a loopback
S3-compatible server (moto), endpoint and credentials from the standard environment."""

import json
import logging
from collections.abc import Iterator

import pytest
import s3fs

from tests.s3_server import client, objects, s3_server
from tests.stages.shard.test_write import folder_bytes
from wit_pipeline.cli import main
from wit_pipeline.reader import shard_pipeline

BUCKET = "wit-shards"


@pytest.fixture(scope="module")
def s3_env() -> Iterator[dict[str, str]]:
    """The server's endpoint and credentials, with the test bucket made."""
    with s3_server() as env:
        client(env).create_bucket(Bucket=BUCKET)
        yield env
    s3fs.S3FileSystem.clear_instance_cache()  # a cached client would keep the dead endpoint


@pytest.fixture
def s3(s3_env, monkeypatch, tmp_path) -> None:
    """The environment set as a user would set it, without any ~/.aws files of this machine."""
    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


def test_shard_out_s3_uploads_the_local_bytes_and_verifies(
    s3, s3_env, filtered_workspace, tmp_path, capsys
):
    workdir = ["--workdir", str(filtered_workspace.root), "-q"]
    url = f"s3://{BUCKET}/run-1/shards"
    local = tmp_path / "local"
    assert main([*workdir, "shard", "--samples-per-shard", "5", "--out", str(local)]) == 0
    assert main([*workdir, "shard", "--samples-per-shard", "5", "--out", url]) == 0
    uploaded, written = objects(s3_env, BUCKET, "run-1/shards"), folder_bytes(local)
    tars = sorted(name for name in written if name.endswith(".tar"))
    assert len(tars) > 1
    assert {name: uploaded[name] for name in [*tars, "sizes.json"]} == {
        name: written[name] for name in [*tars, "sizes.json"]
    }
    assert ".done/_SUCCESS.json" in uploaded
    assert main(["--workdir", str(filtered_workspace.root), "verify-shards", url]) == 0
    assert capsys.readouterr().out.strip() == f"{url}: ok"


def test_verify_shards_s3_finds_a_truncated_object(s3, s3_env, filtered_workspace, capsys):
    workdir = ["--workdir", str(filtered_workspace.root)]
    url = f"s3://{BUCKET}/run-2/shards"
    assert main([*workdir, "-q", "shard", "--samples-per-shard", "5", "--out", url]) == 0
    key = "run-2/shards/00001.tar"
    body = client(s3_env).get_object(Bucket=BUCKET, Key=key)["Body"].read()
    client(s3_env).put_object(Bucket=BUCKET, Key=key, Body=body[: len(body) // 2])
    s3fs.S3FileSystem.clear_instance_cache()  # forget listings cached before the edit
    assert main([*workdir, "verify-shards", url]) == 1
    captured = capsys.readouterr()
    assert any(line.startswith("00001.tar: member") for line in captured.err.splitlines())
    assert f"00001.tar: {len(body) // 2} bytes, its marker says {len(body)}" in captured.err
    assert captured.out.strip().endswith("problems")


def test_reader_on_s3_leaves_out_a_shard_cut_after_its_marker(
    s3, s3_env, filtered_workspace, caplog
):
    workdir = ["--workdir", str(filtered_workspace.root), "-q"]
    url = f"s3://{BUCKET}/run-3/shards"
    assert main([*workdir, "shard", "--samples-per-shard", "5", "--out", url]) == 0
    sizes_file = client(s3_env).get_object(Bucket=BUCKET, Key="run-3/shards/sizes.json")
    sizes = json.loads(sizes_file["Body"].read())
    key = "run-3/shards/00001.tar"
    body = client(s3_env).get_object(Bucket=BUCKET, Key=key)["Body"].read()
    client(s3_env).put_object(Bucket=BUCKET, Key=key, Body=body[: len(body) // 2])
    s3fs.S3FileSystem.clear_instance_cache()  # forget listings cached before the edit
    reader_log = logging.getLogger("wit_pipeline.reader")
    reader_log.addHandler(caplog.handler)  # `main -q` above quietened the package's loggers
    try:
        with caplog.at_level(logging.WARNING, logger="wit_pipeline.reader"):
            samples = list(shard_pipeline(url, decode=None))
    finally:
        reader_log.removeHandler(caplog.handler)
    left_out = f"s3://{BUCKET}/{key}: left out: {len(body) // 2} bytes, its marker says {len(body)}"
    assert left_out in caplog.text
    assert len(sizes) > 2
    assert len(samples) == sum(sizes.values()) - sizes["00001.tar"]
    assert not any(s["__url__"].endswith("00001.tar") for s in samples)

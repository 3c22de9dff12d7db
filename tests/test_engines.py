"""The Ray engine runs the same stage functions as the local one: identical outputs."""

import shutil

import pyarrow.parquet as pq
import pytest

from wit_pipeline.cli import main


@pytest.fixture(scope="module")
def by_engine(tmp_path_factory, downloaded_testweb):
    """The downloaded test web filtered and sharded once per engine, in separate copies."""
    root = tmp_path_factory.mktemp("engines")
    for engine in ("local", "ray"):
        workdir = root / engine
        shutil.copytree(downloaded_testweb, workdir)
        common = ["--workdir", str(workdir), "--engine", engine, "-q"]
        filter_args = ["filter", "--clip-model", "none", "--workers", "0", "--processes", "2"]
        assert main([*common, *filter_args, "--min-image-size", "32"]) == 0
        assert main([*common, "shard", "--samples-per-shard", "16", "--processes", "2"]) == 0
    return root


def test_ray_decisions_equal_local(by_engine):
    local = pq.read_table(by_engine / "local" / "decisions.parquet")
    ray = pq.read_table(by_engine / "ray" / "decisions.parquet")
    assert local.num_rows > 0
    assert ray.equals(local)


def test_ray_shards_are_byte_identical(by_engine):
    local = sorted((by_engine / "local" / "shards").glob("*.tar"))
    ray = sorted((by_engine / "ray" / "shards").glob("*.tar"))
    assert len(local) > 1
    assert [p.name for p in ray] == [p.name for p in local]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(local, ray, strict=True))
    for name in ("sizes.json", "index.wids.json"):
        assert (by_engine / "ray" / "shards" / name).read_text() == (
            by_engine / "local" / "shards" / name
        ).read_text().replace(str(by_engine / "local"), str(by_engine / "ray"))


def test_engine_ray_without_ray_installed_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "ray" else 1)
    assert main(["--workdir", str(tmp_path), "--engine", "ray", "shard"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "wit-pipeline: error: --engine ray needs the ray package: pip install 'wit-pipeline[ray]'"
    )

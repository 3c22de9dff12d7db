"""The Python API: stages as functions with the command line's option names and defaults."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import wit_pipeline
from wit_pipeline import api
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.workspace import Workspace


def _urls(path, testweb_truth):
    rows = [r for r in testweb_truth if r["kind"] in ("ok", "not_found")][:20]
    captions = [r["true_caption"] or "a caption" for r in rows]
    pq.write_table(pa.table({"url": [r["url"] for r in rows], "caption": captions}), path)
    return path


def test_download_filter_shard_through_the_api(tmp_path, testweb_truth):
    urls = _urls(tmp_path / "urls.parquet", testweb_truth)
    workdir = tmp_path / "w"
    got = wit_pipeline.download(urls, workdir=workdir, allow_private_networks=True,
                                timeout=2, samples_per_shard=8, processes=1)  # fmt: skip
    assert got.ran and got.summary["rows"] == 20 and got.summary["shards"] == 3
    assert got.line.startswith("downloaded 20 rows")
    filtered = api.filter(workdir=workdir, clip_model="none", workers=0)
    assert filtered.summary["shards"] == 3 and Workspace(workdir).decisions_path.is_file()
    sharded = api.shard(workdir=workdir, samples_per_shard=4, seed=1)
    kept = sum(pq.read_table(Workspace(workdir).decisions_path)["keep"].to_pylist())
    assert sharded.summary["samples"] == kept > 0
    outcomes = api.run({"workdir": str(workdir), "download": False, "scrape": False,
                        "filter": {"clip_model": "none", "workers": 0},
                        "shard": {"samples_per_shard": 4, "seed": 1}, "report": False})  # fmt: skip
    assert [o.stage for o in outcomes] == ["filter", "shard"]


def test_bad_options_fail_before_any_work(tmp_path):
    with pytest.raises(InputError, match="timeout: invalid value 'soon'"):
        api.download(tmp_path / "u.parquet", workdir=tmp_path / "w", timeout="soon")
    with pytest.raises(InputError, match="unknown key"):
        api.shard(workdir=tmp_path / "w", samples_per_shrad=4)
    with pytest.raises(InputError, match="no img2dataset shards"):
        api.adopt(tmp_path, workdir=tmp_path / "w")
    assert not (tmp_path / "w").exists()


def test_select_through_the_api(tmp_path):
    source = tmp_path / "m.parquet"
    pq.write_table(pa.table({"url": ["a", "b", "c"], "similarity": [0.1, 0.3, 0.5]}), source)
    summary = api.select(source, tmp_path / "k.parquet", min={"similarity": 0.25})
    assert (summary.rows, summary.kept) == (3, 2)
    assert pq.read_table(tmp_path / "k.parquet")["url"].to_pylist() == ["b", "c"]

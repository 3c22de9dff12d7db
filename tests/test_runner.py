"""The runner: a whole config against the test web, run twice; the second run does nothing."""

import contextlib
import io
import json

import pyarrow.parquet as pq
import pytest
import yaml

from tests.workspaces import pipeline_config
from wit_pipeline.cli import main
from wit_pipeline.config import config_from_dict
from wit_pipeline.core.errors import InputError
from wit_pipeline.runner import run_pipeline, select_stages


@pytest.fixture(scope="module")
def ran_twice(tmp_path_factory, testweb):
    """A config run twice on one workdir through `wit-pipeline run`, with both outputs."""
    root = tmp_path_factory.mktemp("run")
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(pipeline_config(testweb, root / "w")))
    outputs = []
    for _ in range(2):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["run", str(path)]) == 0
        outputs.append(out.getvalue().splitlines())
    return root, path, outputs


def test_first_run_runs_every_stage_and_shards_verify(ran_twice):
    root, _, (first, _) = ran_twice
    assert [line.split(":")[0] for line in first[:4]] == ["scrape", "download", "filter", "shard"]
    assert first[-1].startswith("run: 4 of 4 stages ran (scrape, download, filter, shard)")
    sizes = json.loads((root / "w" / "shards" / "sizes.json").read_text())
    kept = pq.read_table(root / "w" / "decisions.parquet").column("keep").to_pylist()
    assert sum(sizes.values()) == sum(kept) > 0
    assert main(["verify-shards", str(root / "w" / "shards")]) == 0


def test_second_run_does_nothing_and_says_so(ran_twice):
    root, _, (_, second) = ran_twice
    assert all("up to date" in line and "skipped" in line for line in second[:4])
    assert second[-1] == f"run: nothing to do, all 4 stages up to date in {root / 'w'}"


def test_changed_options_rerun_that_stage_and_those_after_it(ran_twice):
    root, path, _ = ran_twice
    config = config_from_dict(
        {**yaml.safe_load(path.read_text()), "shard": {"samples_per_shard": 16, "seed": 1}}
    )
    before = (root / "w" / "shards" / "00000.tar").read_bytes()
    outcomes = run_pipeline(config, quiet=True)
    assert [o.ran for o in outcomes] == [False, False, False, True]
    assert (root / "w" / "shards" / "00000.tar").read_bytes() != before


def test_from_and_to_select_a_slice():
    config = config_from_dict({"scrape": {"sources": ["x"]}})
    assert select_stages(config, "download", "filter") == ["download", "filter"]
    with pytest.raises(InputError, match="--from shard comes after --to download"):
        select_stages(config, "shard", "download")
    with pytest.raises(InputError, match="--to train: not a stage of this config"):
        select_stages(config, None, "train")


def test_a_rerun_stage_makes_every_later_record_stale(ran_twice):
    root, path, _ = ran_twice
    data = yaml.safe_load(path.read_text())
    stricter = config_from_dict({**data, "filter": {**data["filter"], "min_image_size": 200}})
    assert [o.ran for o in run_pipeline(stricter, to_stage="filter", quiet=True)][-1]
    assert not (root / "w" / ".runner" / "shard.json").exists()
    outcomes = run_pipeline(stricter, quiet=True)
    assert [o.ran for o in outcomes] == [False, False, False, True]
    assert main(["verify-shards", str(root / "w" / "shards")]) == 0


def test_train_stage_trains_on_the_workspace_shards(ran_twice):
    root, path, _ = ran_twice
    data = yaml.safe_load(path.read_text())
    skip = dict.fromkeys(("scrape", "download", "filter", "shard"), False)
    train = {"steps": 2, "batch_size": 8, "checkpoint_every": 2, "workers": 0}
    config = config_from_dict({"workdir": data["workdir"], **skip, "train": train})
    first = run_pipeline(config, quiet=True)
    assert [o.stage for o in first] == ["train"] and first[0].ran
    assert "trained 2 steps" in first[0].line
    assert sorted(p.name for p in (root / "w" / "train" / "checkpoints").glob("*.pt"))
    assert not run_pipeline(config, quiet=True)[0].ran


def test_run_and_each_stage_log_a_json_summary(ran_twice, capsys, monkeypatch):
    """Under --log-json, every stage the runner runs and the run itself end with one JSON
    summary line on stderr, whoever calls the runner."""
    _, path, _ = ran_twice
    monkeypatch.delenv("WIT_LOG_JSON", raising=False)
    capsys.readouterr()
    assert main(["--log-json", "-q", "run", str(path), "--from", "shard", "--force"]) == 0
    monkeypatch.delenv("WIT_LOG_JSON", raising=False)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    summaries = [line for line in lines if line.get("event") == "summary"]
    assert [s["stage"] for s in summaries] == ["shard", "run"]
    shard, run = (s["summary"] for s in summaries)
    assert shard["samples"] > 0 and shard["shards"] >= 1
    assert run["ran"] == ["shard"] and run["skipped"] == []

"""`wit-pipeline shard` and `verify-shards` from the command line."""

import json

from wit_pipeline.cli import main


def test_shard_then_verify(filtered_workspace, capsys):
    root = str(filtered_workspace.root)
    assert main(["--workdir", root, "shard", "--samples-per-shard", "4", "--seed", "3"]) == 0
    line = capsys.readouterr().out
    sizes = json.loads((filtered_workspace.shards_dir / "sizes.json").read_text())
    assert f"{sum(sizes.values())} samples in {len(sizes)} shards" in line
    assert all(count == 4 for count in list(sizes.values())[:-1])
    assert main(["verify-shards", str(filtered_workspace.shards_dir)]) == 0
    assert capsys.readouterr().out.strip().endswith(": ok")


def test_verify_shards_reports_a_tampered_shard(filtered_workspace, capsys):
    assert (
        main(["--workdir", str(filtered_workspace.root), "shard", "-q", "--samples-per-shard", "4"])
        == 0
    )
    first = filtered_workspace.shards_dir / "00000.tar"
    first.write_bytes(first.read_bytes()[:1024])
    assert main(["verify-shards", str(filtered_workspace.shards_dir)]) == 1
    captured = capsys.readouterr()
    assert "00000.tar" in captured.err and "problems" in captured.out


def test_shard_without_decisions_exit_2(tmp_path, capsys):
    assert main(["--workdir", str(tmp_path), "shard"]) == 2
    assert "decisions.parquet" in capsys.readouterr().err

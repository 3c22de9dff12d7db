"""`python -m train_small`: train (with eval and export), eval, export; bad input exits 2."""

import argparse
import json
import subprocess
import sys

from train_small.cli import add_train_arguments, main, run_train

TINY_FLAGS = [
    "--steps", "6", "--batch-size", "16", "--workers", "1", "--image-size", "32",
    "--patch-size", "8", "--vision-width", "32", "--vision-layers", "1", "--text-width", "32",
    "--text-layers", "1", "--embed-dim", "32", "--context-length", "16", "--warmup-steps", "2",
]  # fmt: skip


def test_train_evaluates_and_exports(tiny_shards, tmp_path, capsys):
    out, export = tmp_path / "run", tmp_path / "export"
    argv = ["-q", "train", "--shards", str(tiny_shards), "--out", str(out), *TINY_FLAGS]
    assert main([*argv, "--eval-shards", str(tiny_shards), "--export", str(export)]) == 0
    printed = capsys.readouterr().out
    assert "trained 6 steps" in printed and "zero_shot_shape_top1" in printed
    assert json.loads((out / "eval.json").read_text())["samples"] == 96
    assert (out / "loss_curve.png").is_file() and (export / "open_clip_config.json").is_file()
    assert main(["eval", "--model", str(export), "--eval-shards", str(tiny_shards)]) == 0
    assert "i2t_r10" in capsys.readouterr().out


def test_coordinator_can_register_the_train_options(tiny_shards, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    args = parser.parse_args(
        ["--shards", str(tiny_shards), "--out", str(tmp_path / "r"), *TINY_FLAGS]
    )
    args.quiet = True
    assert run_train(args) == 0
    assert (tmp_path / "r" / "metrics.jsonl").is_file()


def test_missing_shards_exit_2_with_one_line_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--shards", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"train: {tmp_path / 'nowhere'}: no such shard")
    assert not out.exists()


def test_module_entry_point_prints_help():
    done = subprocess.run(
        [sys.executable, "-m", "train_small", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "train" in done.stdout and "export" in done.stdout


def test_bad_recipe_and_bad_checkpoint_exit_2(tiny_shards, tmp_path, capsys):
    argv = ["train", "--shards", str(tiny_shards), "--out", str(tmp_path / "r")]
    assert main([*argv, "--image-size", "30", "--patch-size", "8"]) == 2
    assert "image_size 30 is not a multiple of patch_size 8" in capsys.readouterr().err
    assert main([*argv, "--resnet-width", "0"]) == 2
    assert "resnet_width must be >= 1, got 0" in capsys.readouterr().err
    assert main(["export", "--checkpoint", str(tmp_path / "none.pt"), "--out", "x"]) == 2
    assert "no such checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()

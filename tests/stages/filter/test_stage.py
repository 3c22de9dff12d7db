"""The filter stage end to end on the downloaded test web: scores, decisions, cache, rules."""

import json

import pyarrow.parquet as pq
import pytest

from wit_pipeline.cli import main
from wit_pipeline.core.markers import Markers
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.core.validate import validate_file
from wit_pipeline.scoring.clip import ClipSpec
from wit_pipeline.stages.filter import DecideOptions, ScoreOptions, filter_stage
from wit_pipeline.stages.filter import score as score_module

NO_CLIP = ScoreOptions(clip=None, workers=0, progress=False)


def _decisions(workspace):
    return pq.read_table(workspace.decisions_path).to_pylist()


def _raw_rows(workspace):
    return [
        r
        for f in sorted(workspace.raw_dir.glob("[0-9]*.parquet"))
        for r in pq.read_table(f).to_pylist()
    ]


def test_one_decision_per_raw_sample_with_reasons(workspace_copy):
    summary = filter_stage(workspace_copy, NO_CLIP, DecideOptions())
    decisions = _decisions(workspace_copy)
    raw = _raw_rows(workspace_copy)
    assert [d["key"] for d in decisions] == [r["key"] for r in raw]
    for decision, row in zip(decisions, raw, strict=True):
        if row["status"] != "success":
            assert (decision["keep"], decision["reason"]) == (False, row["status"])
            assert decision["detail"] == row["error_code"]
        assert decision["keep"] == (decision["reason"] == "kept") == (not decision["reasons"])
    assert validate_file(workspace_copy.decisions_path, load_schema("decisions")).ok
    assert summary.decisions.funnel["kept"] == sum(d["keep"] for d in decisions)
    assert "samples: kept" in summary.line()


def test_each_duplicate_group_keeps_one(workspace_copy, testweb_truth):
    # pHash is not robust to crops (see the study in BENCHMARKS.md): every other member of a
    # true group must resolve to one kept sample (itself, or the one it is a duplicate of).
    filter_stage(workspace_copy, NO_CLIP, DecideOptions(max_aspect_ratio=100))
    truth = {r["url"]: r for r in testweb_truth}
    by_key = {d["key"]: d for d in _decisions(workspace_copy)}
    groups: dict[int, list[dict]] = {}
    for row in _raw_rows(workspace_copy):
        group = truth[row["url"]]["dup_group"]
        crop = truth[row["url"]]["dup_kind"] == "crop"
        if row["status"] == "success" and group is not None and not crop:
            groups.setdefault(group, []).append(by_key[row["key"]])
    assert sum(len(m) > 1 for m in groups.values()) >= 2, "need groups with several members"
    for group, members in groups.items():
        survivors = {m["key"] if m["keep"] else m["duplicate_of"] for m in members}
        assert len(survivors) == 1 and None not in survivors, (group, members)
        assert by_key[survivors.pop()]["keep"]


def test_no_dedupe_keeps_every_duplicate(workspace_copy, capsys):
    args = ["--workdir", str(workspace_copy.root), "filter", "--clip-model", "none"]
    assert main([*args, "--max-aspect-ratio", "100"]) == 0
    deduped = _decisions(workspace_copy)
    assert main([*args, "--max-aspect-ratio", "100", "--no-dedupe"]) == 0
    kept_all = _decisions(workspace_copy)
    assert any(d["reason"] == "duplicate" for d in deduped)
    assert not any("duplicate" in d["reasons"] for d in kept_all)
    assert sum(d["keep"] for d in kept_all) == sum(
        d["keep"] or d["reason"] == "duplicate" for d in deduped
    )


def test_rules_name_their_reasons(workspace_copy):
    options = DecideOptions(
        min_image_size=100, max_aspect_ratio=2.0, min_caption_words=4, langs=frozenset({"en"})
    )
    filter_stage(workspace_copy, NO_CLIP, options)
    decisions = _decisions(workspace_copy)
    reasons = {name for d in decisions for name in d["reasons"]}
    assert {"too_small", "bad_aspect_ratio", "few_caption_words", "wrong_lang"} <= reasons
    raw = {r["key"]: r for r in _raw_rows(workspace_copy)}
    small = next(d for d in decisions if d["reason"] == "too_small")
    assert min(raw[small["key"]]["original_width"], raw[small["key"]]["original_height"]) < 100


def test_local_dir_model_scores_and_cache_is_reused(workspace_copy, tiny_clip_dir):
    spec = ClipSpec(f"local-dir:{tiny_clip_dir}", None)
    options = ScoreOptions(clip=spec, device="cpu", batch_size=16, progress=False)
    first = filter_stage(workspace_copy, options, DecideOptions(min_clip_score=0.0))
    decisions = _decisions(workspace_copy)
    scored = [d for d in decisions if d["clip_score"] is not None]
    assert scored and all(-1.0 <= d["clip_score"] <= 1.0 for d in scored)
    assert {d["clip_model"] for d in scored} == {spec.model_id}
    assert first.scored == first.shards and first.cached == 0
    scorer = score_module.scorer_for(spec, "cpu")
    calls = scorer.calls
    again = filter_stage(workspace_copy, options, DecideOptions(min_clip_score=0.5))
    assert (again.scored, again.cached) == (0, again.shards)
    assert scorer.calls == calls, "another threshold must not run the model"
    assert again.decisions.funnel.get("low_clip_score", 0) >= first.decisions.funnel.get(
        "low_clip_score", 0
    )


def test_another_model_recomputes_only_clip_columns(workspace_copy, tiny_clip_dir):
    filter_stage(workspace_copy, NO_CLIP, None)
    before = pq.read_table(workspace_copy.scores_dir / "00000.parquet").to_pylist()
    spec = ClipSpec(f"local-dir:{tiny_clip_dir}", None)
    summary = filter_stage(
        workspace_copy, ScoreOptions(clip=spec, device="cpu", progress=False), None
    )
    after = pq.read_table(workspace_copy.scores_dir / "00000.parquet").to_pylist()
    assert summary.scored == summary.shards
    for old, new in zip(before, after, strict=True):
        assert {k: old[k] for k in ("key", "phash", "width", "lang")} == {
            k: new[k] for k in ("key", "phash", "width", "lang")
        }
    assert any(r["clip_score"] is not None for r in after)
    assert not any(r["clip_score"] is not None for r in before)


def test_keep_fraction_keeps_the_top_share(workspace_copy, tiny_clip_dir):
    spec = ClipSpec(f"local-dir:{tiny_clip_dir}", None)
    summary = filter_stage(
        workspace_copy,
        ScoreOptions(clip=spec, device="cpu", progress=False),
        DecideOptions(keep_fraction=0.5, max_aspect_ratio=100, dedupe_distance=0),
    )
    scored = [d for d in _decisions(workspace_copy) if d["clip_score"] is not None]
    above = [d for d in scored if d["clip_score"] >= summary.decisions.clip_threshold]
    assert abs(len(above) - len(scored) / 2) <= 1
    assert all("low_clip_score" not in d["reasons"] for d in above)


def test_decontamination_drops_eval_overlap(workspace_copy, testweb_web, testweb_truth, tmp_path):
    eval_dir = tmp_path / "evals" / "shapes-test"
    eval_dir.mkdir(parents=True)
    originals = [r for r in testweb_truth if r["kind"] == "ok" and r["format"] == "png"][:3]
    for row in originals:
        (eval_dir / f"{row['image_id']}.png").write_bytes(testweb_web.image_bytes(row["image_id"]))
    from wit_pipeline.stages.filter.decontaminate import load_eval_sets

    summary = filter_stage(
        workspace_copy, NO_CLIP, DecideOptions(eval_sets=load_eval_sets(tmp_path / "evals"))
    )
    hits, size = summary.decisions.eval_overlap["shapes-test"]
    assert size == 3 and hits >= 1
    dropped = [d for d in _decisions(workspace_copy) if "eval_overlap" in d["reasons"]]
    assert dropped and all(
        d["detail"] == "shapes-test" or d["reasons"][0] != "eval_overlap" for d in dropped
    )
    assert "eval overlap shapes-test:" in summary.line()


def test_dry_run_writes_no_decisions(workspace_copy, capsys):
    assert (
        main(
            [
                "--workdir",
                str(workspace_copy.root),
                "filter",
                "--clip-model",
                "none",
                "--dry-run",
                "--workers",
                "0",
            ]
        )
        == 0
    )
    assert "dry run: nothing written" in capsys.readouterr().out
    assert not workspace_copy.decisions_path.exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--min-clip-score", "1.5"], "--min-clip-score 1.5: a cosine is in [-1, 1]"),
        (["--keep-fraction", "0"], "--keep-fraction 0.0: must be in (0, 1]"),
        (["--min-clip-score", "0.2", "--keep-fraction", "0.3"], "not both"),
    ],
)
def test_bad_thresholds_exit_2(tmp_path, capsys, flags, message):
    assert main(["--workdir", str(tmp_path), "filter", "--clip-model", "none", *flags]) == 2
    assert message in capsys.readouterr().err


def test_missing_local_dir_model_exit_2(workspace_copy, tmp_path, capsys):
    args = ["--workdir", str(workspace_copy.root), "filter", "--clip-model"]
    assert main([*args, f"local-dir:{tmp_path / 'nothing'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("nothing: not an open_clip folder (no open_clip_config.json)")
    assert "\n" not in err
    assert not workspace_copy.decisions_path.exists()


def test_no_raw_shards_exit_2(tmp_path, capsys):
    assert main(["--workdir", str(tmp_path), "filter", "--clip-model", "none"]) == 2
    assert "no raw shards; run download first" in capsys.readouterr().err


def test_clip_threshold_without_clip_scores_exit_2(workspace_copy, capsys):
    assert (
        main(
            [
                "--workdir",
                str(workspace_copy.root),
                "filter",
                "--clip-model",
                "none",
                "--min-clip-score",
                "0.28",
                "--workers",
                "0",
            ]
        )
        == 2
    )
    assert "no CLIP scores in scores/" in capsys.readouterr().err


def test_rewritten_raw_shard_is_scored_again(workspace_copy):
    first = filter_stage(workspace_copy, NO_CLIP, None)
    assert first.scored == first.shards
    shard = workspace_copy.raw_dir / "00000.parquet"
    table = pq.read_table(shard)
    shard.unlink()
    pq.write_table(table, shard)
    again = filter_stage(workspace_copy, NO_CLIP, None)
    assert (again.scored, again.cached) == (1, again.shards - 1)


def test_damaged_raw_shards_give_per_sample_reasons(workspace_copy):
    tar = workspace_copy.raw_dir / "00000.tar"
    tar.write_bytes(tar.read_bytes()[: tar.stat().st_size // 2])
    other = workspace_copy.raw_dir / "00001.tar"
    data = bytearray(other.read_bytes())
    data[2000:2600] = b"\x00" * 600
    other.write_bytes(bytes(data))
    filter_stage(workspace_copy, NO_CLIP, DecideOptions())
    decisions = _decisions(workspace_copy)
    raw = {r["key"]: r for r in _raw_rows(workspace_copy)}
    kinds = {"missing_image", "decode_error", "bad_member", "bad_metadata"}
    damaged = [d for d in decisions if d["reason"] in kinds]
    assert damaged, "the cut tar must leave samples without an image"
    assert all(raw[d["key"]]["status"] == "success" for d in damaged)
    assert all(d["detail"].startswith(d["reason"]) for d in damaged)
    assert len(decisions) == len(raw)


def test_padding_is_cut_only_from_border_resized_shards(workspace_copy):
    filter_stage(workspace_copy, NO_CLIP, None)
    border = pq.read_table(workspace_copy.scores_dir / "00000.parquet").column("phash")
    stats_path = workspace_copy.raw_dir / "00000_stats.json"
    stats = json.loads(stats_path.read_text())
    assert stats["resize_mode"] == "border"
    stats_path.write_text(json.dumps({**stats, "resize_mode": "center_crop"}))
    (workspace_copy.scores_dir / "00000.parquet").unlink()
    Markers(workspace_copy.scores_dir).forget("00000")
    filter_stage(workspace_copy, NO_CLIP, None)
    whole = pq.read_table(workspace_copy.scores_dir / "00000.parquet").column("phash")
    assert border != whole, "non-square originals must hash differently without the cut"


def test_dedupe_flags_reach_the_decisions(workspace_copy):
    """A tighter colour check confirms fewer pHash pairs; no colour or texture check with
    transitive grouping (pHash alone, as before the colour hash) confirms more."""
    args = ["--workdir", str(workspace_copy.root), "-q", "filter", "--clip-model", "none"]
    settings = {
        "exact colours": ["--dedupe-colour-distance", "0"],
        "default": [],
        "pHash alone": [
            "--dedupe-colour-distance",
            "128",
            "--dedupe-texture-change",
            "4",
            "--dedupe-grouping",
            "transitive",
        ],
    }
    duplicates = {}
    for name, flags in settings.items():
        assert main([*args, "--max-aspect-ratio", "100", *flags]) == 0
        duplicates[name] = sum("duplicate" in d["reasons"] for d in _decisions(workspace_copy))
    assert duplicates["exact colours"] < duplicates["default"] < duplicates["pHash alone"]

"""Safety curation end to end on the test web: classifier heads trained here, blocklists by
sha256 and pHash (never reaching shards or the report's pictures)."""

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from wit_pipeline.cli import main
from wit_pipeline.scoring.clip import ClipSpec
from wit_pipeline.stages.filter import score as score_module


def _cli(workspace, *args: str) -> int:
    return main(["--workdir", str(workspace.root), "-q", *args])


def _table(folder, pattern: str = "[0-9]*.parquet") -> list[dict]:
    return [r for f in sorted(folder.glob(pattern)) for r in pq.read_table(f).to_pylist()]


def _embeddings(workspace) -> tuple[list[str], np.ndarray]:
    keys, images = [], []
    for path in sorted((workspace.scores_dir / "embeddings").glob("*.npz")):
        with np.load(path) as data:
            keys += data["key"].tolist()
            images.append(data["image"])
    return keys, np.concatenate(images)


def _train_head(x: np.ndarray, target: np.ndarray) -> torch.nn.Sequential:
    """A logistic regression over the embeddings, fitted in the test."""
    torch.manual_seed(0)
    head = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 1))
    optimiser = torch.optim.Adam(head.parameters(), lr=0.05)
    inputs, labels = torch.tensor(x), torch.tensor(target, dtype=torch.float32)[:, None]
    for _ in range(2000):
        optimiser.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(head(inputs), labels).backward()
        optimiser.step()
    return head


def test_classifier_head_scores_drop_and_keep(
    workspace_copy, tiny_clip_dir, testweb_truth, tmp_path
):
    model = f"local-dir:{tiny_clip_dir}"
    scoring = ["filter", "--clip-model", model, "--device", "cpu", "--workers", "0"]
    assert _cli(workspace_copy, *scoring, "--save-embeddings") == 0
    keys, x = _embeddings(workspace_copy)
    url_of = {r["key"]: r["url"] for r in _table(workspace_copy.raw_dir)}
    shape_of = {r["url"]: r["label_shape"] for r in testweb_truth}
    target = np.array([shape_of.get(url_of[k]) == "circle" for k in keys])
    head = _train_head(x, target)
    expected = torch.sigmoid(head(torch.tensor(x))).detach().numpy()[:, 0]
    assert ((expected > 0.5) == target).mean() >= 0.8, "the head must learn its task"
    state = {**head.state_dict(), "output": "sigmoid"}
    torch.save(state, tmp_path / "circle.pt")

    calls = score_module.scorer_for(ClipSpec(model, None), "cpu").calls
    heads = ["--classifier", f"circle={tmp_path / 'circle.pt'}"]
    assert _cli(workspace_copy, *scoring, *heads, "--drop-if", "circle>0.5") == 0
    assert score_module.scorer_for(ClipSpec(model, None), "cpu").calls == calls, (
        "a new head reads the saved embeddings: CLIP does not run again"
    )
    stored = {r["key"]: r for r in _table(workspace_copy.scores_dir / "heads")}
    assert {r["head"] for r in stored.values()} == {"circle"}
    assert {r["clip_model"] for r in stored.values()} == {ClipSpec(model, None).model_id}
    got = np.array([stored[k]["score"] for k in keys])
    np.testing.assert_allclose(got, expected, atol=1e-4)
    decisions = {d["key"]: d for d in pq.read_table(workspace_copy.decisions_path).to_pylist()}
    dropped = {k for k, d in decisions.items() if "classifier:circle" in d["reasons"]}
    assert dropped, "some circles must go"
    assert dropped == {k for k in stored if stored[k]["score"] > 0.5 and not _early(decisions[k])}
    reasoned = next(d for d in decisions.values() if d["reason"] == "classifier:circle")
    assert reasoned["detail"].endswith("> 0.5")

    assert _cli(workspace_copy, *scoring, *heads, "--keep-if", "circle>=0.5") == 0
    assert score_module.scorer_for(ClipSpec(model, None), "cpu").calls == calls, "cached"
    decisions = pq.read_table(workspace_copy.decisions_path).to_pylist()
    kept = [d["key"] for d in decisions if d["keep"]]
    assert kept and all(stored[k]["score"] >= 0.5 for k in kept)


def test_heads_scored_with_clip_in_one_pass(workspace_copy, tiny_clip_dir, tmp_path):
    rng = np.random.default_rng(0)
    weights = {"h.weight": rng.normal(size=(8, 32)), "o.weight": rng.normal(size=(1, 8))}
    np.savez(tmp_path / "head.npz", **weights)
    model = f"local-dir:{tiny_clip_dir}"
    args = ["filter", "--clip-model", model, "--device", "cpu", "--workers", "0"]
    head = ["--classifier", f"mlp={tmp_path / 'head.npz'}", "--save-embeddings"]
    assert _cli(workspace_copy, *args, *head) == 0
    keys, x = _embeddings(workspace_copy)
    expected = np.maximum(x @ weights["h.weight"].T, 0) @ weights["o.weight"].T
    stored = {r["key"]: r["score"] for r in _table(workspace_copy.scores_dir / "heads")}
    assert sorted(stored) == sorted(keys)
    np.testing.assert_allclose([stored[k] for k in keys], expected[:, 0], rtol=1e-4, atol=1e-5)


def _early(decision: dict) -> bool:
    """Dropped before the per-sample rules (download or decode failure)."""
    return decision["reasons"][0] in {"failed_to_download", "failed_to_resize", "decode_error"}


def test_rules_on_a_head_never_scored_exit_2(workspace_copy, tiny_clip_dir, capsys):
    model = f"local-dir:{tiny_clip_dir}"
    args = ["filter", "--clip-model", model, "--device", "cpu", "--workers", "0"]
    assert _cli(workspace_copy, *args, "--drop-if", "nsfw>0.5") == 2
    assert "no scores of head nsfw" in capsys.readouterr().err
    assert _cli(workspace_copy, "filter", "--clip-model", "none", "--drop-if", "nsfw=1") == 2
    assert "--drop-if 'nsfw=1': expected NAME>NUMBER" in capsys.readouterr().err


def test_blocklist_drops_by_sha256_and_phash_and_is_never_shown(workspace_copy, tmp_path):
    no_clip = ["filter", "--clip-model", "none", "--workers", "0"]
    assert _cli(workspace_copy, *no_clip) == 0
    raw = {r["key"]: r for r in _table(workspace_copy.raw_dir)}
    scores = {r["key"]: r for r in _table(workspace_copy.scores_dir)}
    hashed = sorted(k for k, s in scores.items() if s["phash"] is not None and raw[k]["sha256"])
    by_sha, by_phash = hashed[0], hashed[len(hashed) // 2]
    listed_phash = scores[by_phash]["phash"]
    blocklist = tmp_path / "bad.txt"
    blocklist.write_text(
        f"# known bad\n\nsha256:{raw[by_sha]['sha256'].upper()}\nphash:{listed_phash:016x}\n"
    )
    assert _cli(workspace_copy, *no_clip, "--blocklist", str(blocklist)) == 0
    expected = {
        k
        for k in hashed
        if raw[k]["sha256"] == raw[by_sha]["sha256"]
        or bin(scores[k]["phash"] ^ listed_phash).count("1") <= 4
    }
    decisions = pq.read_table(workspace_copy.decisions_path).to_pylist()
    blocked = {d["key"] for d in decisions if d["reason"] == "blocklisted"}
    assert blocked == expected and {by_sha, by_phash} <= blocked
    assert not any(d["keep"] for d in decisions if d["key"] in blocked)

    assert _cli(workspace_copy, "shard", "--samples-per-shard", "10") == 0
    manifest = pq.read_table(workspace_copy.root / "shards" / "manifest.parquet").to_pylist()
    assert manifest and not {m["raw_key"] for m in manifest} & blocked
    assert _cli(workspace_copy, "report") == 0
    page = (workspace_copy.root / "report" / "index.html").read_text()
    assert "blocklisted" in page, "the report counts them"
    for key in blocked:
        assert raw[key]["url"] not in page and f">{key}<" not in page


def test_bad_blocklist_line_exit_2(workspace_copy, tmp_path, capsys):
    blocklist = tmp_path / "bad.txt"
    blocklist.write_text("phash:0123456789abcdef\nmd5:abc\n")
    assert (
        _cli(workspace_copy, "filter", "--clip-model", "none", "--blocklist", str(blocklist)) == 2
    )
    err = capsys.readouterr().err
    assert "bad.txt:2: 'md5:abc' is neither" in err and "\n" not in err.strip()
    assert not workspace_copy.decisions_path.exists()


def test_semantic_dedupe_keeps_no_two_close_samples(workspace_copy, tiny_clip_dir, capsys):
    model = f"local-dir:{tiny_clip_dir}"
    scoring = ["filter", "--clip-model", model, "--device", "cpu", "--workers", "0"]
    assert _cli(workspace_copy, *scoring, "--semantic-dedupe", "0.01") == 2
    assert "--save-embeddings" in capsys.readouterr().err
    assert _cli(workspace_copy, *scoring, "--save-embeddings") == 0
    before = {
        d["key"] for d in pq.read_table(workspace_copy.decisions_path).to_pylist() if d["keep"]
    }
    exact = ["--semantic-dedupe", "0.002", "--semantic-clusters", "1"]
    assert _cli(workspace_copy, *scoring, "--save-embeddings", *exact) == 0
    keys, x = _embeddings(workspace_copy)
    vector = dict(zip(keys, x, strict=True))
    decisions = {d["key"]: d for d in pq.read_table(workspace_copy.decisions_path).to_pylist()}
    similar = [d for d in decisions.values() if d["reason"] == "semantic_duplicate"]
    assert similar, "the test web's copies are semantic duplicates too"
    for d in similar:
        kept = decisions[d["duplicate_of"]]
        assert kept["keep"] and d["key"] in before and d["detail"] == kept["key"]
        assert float(vector[d["key"]] @ vector[kept["key"]]) > 1.0 - 0.002
        assert (kept["clip_score"], -int(kept["key"])) >= (d["clip_score"], -int(d["key"]))
    survivors = sorted(k for k, d in decisions.items() if d["keep"])
    close = np.stack([vector[k] for k in survivors])
    similarity = close @ close.T - 2.0 * np.eye(len(survivors))
    assert similarity.max() <= 1.0 - 0.002, "no two kept samples are semantic duplicates"
    assert {k for k, d in decisions.items() if d["keep"]} | {d["key"] for d in similar} == before


def test_run_config_keys_match_the_flags(tmp_path):
    from wit_pipeline.config import config_from_dict
    from wit_pipeline.core.errors import InputError

    config = config_from_dict(
        {
            "workdir": str(tmp_path),
            "scrape": False,
            "download": False,
            "filter": {
                "classifier": ["nsfw=nsfw.npz", "aesthetic=a.pt"],
                "drop_if": ["nsfw>0.5"],
                "keep_if": ["aesthetic>=5"],
                "blocklist": "bad.txt",
                "save_embeddings": True,
                "semantic_dedupe": 0.05,
            },
            "shard": {"blur_boxes": "bbox"},
        },
        "run.yaml",
    )
    options = config.sections["filter"]
    assert options.classifier == ["nsfw=nsfw.npz", "aesthetic=a.pt"]
    assert (options.drop_if, options.semantic_dedupe) == (["nsfw>0.5"], 0.05)
    assert config.sections["shard"].blur_boxes == "bbox"
    with pytest.raises(InputError, match=r"run.yaml: --semantic-dedupe 1.5: must be in \(0, 1\)"):
        config_from_dict(
            {"scrape": False, "download": False, "filter": {"semantic_dedupe": 1.5}}, "run.yaml"
        )

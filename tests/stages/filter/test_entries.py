"""Metadata matching and balancing end to end on the downloaded test web: `filter --entries`,
`--require-entry`, `--balance-cap`, the cache of matches, and `entries build`."""

import json
from collections import Counter

import pyarrow.parquet as pq
import pytest
import yaml

from tests.report.page import read_page
from wit_pipeline.cli import main
from wit_pipeline.core.markers import Markers
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.core.validate import validate_file
from wit_pipeline.report import ReportOptions, build_report
from wit_pipeline.scoring.entries import spacing
from wit_pipeline.testweb.vocab import COLOURS, SHAPES

VOCABULARY = [*SHAPES, *COLOURS]


def _filter(workspace, *flags: str) -> int:
    return main(
        ["-q", "--workdir", str(workspace.root), "filter", "--clip-model", "none",
         "--workers", "0", *flags]
    )  # fmt: skip


def _decisions(workspace) -> list[dict]:
    return pq.read_table(workspace.decisions_path).to_pylist()


def _matches(workspace) -> dict[str, list[str]]:
    folder = workspace.scores_dir / "entries"
    rows = [r for f in sorted(folder.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    return {r["key"]: r["entries"] for r in rows}


def _captions(workspace) -> dict[str, str | None]:
    files = sorted(workspace.raw_dir.glob("[0-9]*.parquet"))
    rows = [r for f in files for r in pq.read_table(f, columns=["key", "caption"]).to_pylist()]
    return {r["key"]: r["caption"] for r in rows}


@pytest.fixture
def vocabulary(tmp_path):
    path = tmp_path / "entries.txt"
    path.write_text("\n".join(VOCABULARY) + "\n")
    return path


def test_matches_are_metaclip_substrings_and_cached_per_list(
    workspace_copy, vocabulary, tmp_path, capsys
):
    assert _filter(workspace_copy, "--entries", str(vocabulary)) == 0
    matches, captions = _matches(workspace_copy), _captions(workspace_copy)
    assert set(matches) == set(captions)
    for folder_file in sorted((workspace_copy.scores_dir / "entries").glob("*.parquet")):
        assert validate_file(folder_file, load_schema("entries")).ok
    for key, found in matches.items():
        spaced = spacing(captions[key] or "")
        expected = [e for e in VOCABULARY if captions[key] and f" {e} " in spaced]
        assert found == sorted(expected, key=VOCABULARY.index), key
    assert sum(bool(found) for found in matches.values()) > len(matches) / 3
    markers = Markers(workspace_copy.scores_dir / "entries")
    first = {s: markers.info(s) for s in markers.done_units()}
    assert _filter(workspace_copy, "--entries", str(vocabulary)) == 0
    assert {s: markers.info(s) for s in markers.done_units()} == first  # cached
    as_json = tmp_path / "metadata.json"
    as_json.write_text(json.dumps(["red", "circle"]))
    assert _filter(workspace_copy, "--entries", str(as_json)) == 0
    again = _matches(workspace_copy)
    capsys.readouterr()
    assert _filter(workspace_copy, "--decide-only", "--entries", str(vocabulary)) == 2
    assert "run the score phase with --entries first" in capsys.readouterr().err
    assert again == {
        k: [e for e in ("red", "circle") if e in found] for k, found in matches.items()
    }
    assert any(again.values())


def test_require_entry_drops_captions_without_one(workspace_copy, tmp_path):
    entries = tmp_path / "circle.txt"
    entries.write_text("circle\n")
    assert _filter(workspace_copy, "--entries", str(entries), "--require-entry") == 0
    matches = _matches(workspace_copy)
    decisions = _decisions(workspace_copy)
    no_entry = [d for d in decisions if "no_entry" in d["reasons"]]
    assert no_entry and all(matches[d["key"]] == [] for d in no_entry)
    assert all(matches[d["key"]] == ["circle"] for d in decisions if d["keep"])


def test_balancing_caps_head_entries_reproducibly(workspace_copy, vocabulary):
    assert _filter(workspace_copy, "--entries", str(vocabulary)) == 0
    matches = _matches(workspace_copy)
    before = Counter(e for d in _decisions(workspace_copy) if d["keep"] for e in matches[d["key"]])
    cap = 1
    assert max(before.values()) > 2 * cap
    assert _filter(workspace_copy, "--entries", str(vocabulary), "--balance-cap", str(cap)) == 0
    decisions = _decisions(workspace_copy)
    balanced = [d for d in decisions if d["reason"] == "balanced_out"]
    assert balanced and all(d["reasons"] == ["balanced_out"] for d in balanced)
    assert all(": " in d["detail"] and d["detail"].endswith(f"> {cap}") for d in balanced)
    after = Counter(e for d in decisions if d["keep"] for e in matches[d["key"]])
    for entry, count in before.items():
        if count <= cap:
            assert after[entry] == count, entry  # entries under the cap lose nothing
    assert sum(after.values()) < sum(before.values())
    kept = [d["key"] for d in decisions if d["keep"]]
    assert _filter(workspace_copy, "--entries", str(vocabulary), "--balance-cap", str(cap)) == 0
    assert [d["key"] for d in _decisions(workspace_copy) if d["keep"]] == kept
    flags = ["--entries", str(vocabulary), "--balance-cap", str(cap), "--balance-seed", "7"]
    assert _filter(workspace_copy, *flags) == 0
    assert [d["key"] for d in _decisions(workspace_copy) if d["keep"]] != kept


def test_bad_entry_lists_exit_2_before_writing(workspace_copy, tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    not_strings = tmp_path / "bad.json"
    not_strings.write_text("[1, 2]")
    for path in (empty, not_strings, tmp_path / "missing.txt"):
        assert _filter(workspace_copy, "--entries", str(path)) == 2
        assert str(path) in capsys.readouterr().err
    assert not workspace_copy.decisions_path.exists()
    assert _filter(workspace_copy, "--balance-cap", "5") == 2
    assert "--entries" in capsys.readouterr().err


def test_build_entries_from_the_pool_feeds_the_filter(workspace_copy, tmp_path, capsys):
    built = tmp_path / "built.txt"
    root = ["-q", "--workdir", str(workspace_copy.root)]
    assert main([*root, "build-entries", str(built), "--min-count", "3"]) == 0
    entries = built.read_text().splitlines()
    assert entries and all(e == e.strip() and e for e in entries)
    counts = Counter(e for c in _captions(workspace_copy).values() if c for e in entries
                     if f" {e} " in spacing(c))  # fmt: skip
    assert min(counts[e] for e in entries) >= 3
    assert [counts[e] for e in entries] == sorted((counts[e] for e in entries), reverse=True)
    as_json = tmp_path / "built.json"
    assert (
        main([*root, "build-entries", str(as_json), "--min-count", "3", "--max-entries", "4"]) == 0
    )
    assert json.loads(as_json.read_text()) == entries[:4]
    assert _filter(workspace_copy, "--entries", str(as_json), "--require-entry") == 0
    kept = [d for d in _decisions(workspace_copy) if d["keep"]]
    assert kept and all(_matches(workspace_copy)[d["key"]] for d in kept)
    assert main([*root, "build-entries", str(tmp_path / "none.txt"), "--min-count", "99999"]) == 2
    assert "no word or bigram" in capsys.readouterr().err
    assert not (tmp_path / "none.txt").exists()


def test_run_config_keys_balance_through_filter_and_shard(workspace_copy, vocabulary, tmp_path):
    config = {
        "workdir": str(workspace_copy.root),
        "scrape": {"sources": ["unused"]},
        "filter": {
            "clip_model": "none",
            "workers": 0,
            "entries": str(vocabulary),
            "require-entry": True,
            "balance_cap": 1,
        },
        "shard": {"samples_per_shard": 16},
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["-q", "run", str(path), "--from", "filter", "--to", "shard"]) == 0
    decisions = _decisions(workspace_copy)
    reasons = Counter(d["reason"] for d in decisions)
    assert reasons["balanced_out"] > 0 and reasons["no_entry"] > 0
    manifest = pq.read_table(workspace_copy.root / "shards" / "manifest.parquet")
    assert sorted(manifest.column("raw_key").to_pylist()) == sorted(
        d["key"] for d in decisions if d["keep"]
    )
    summary = build_report(workspace_copy, ReportOptions(progress=False))
    page = read_page(summary.path.read_text(encoding="utf-8"))
    assert page.sections["entries"] and "entries" not in summary.not_run
    text = page.section_text["entries"]
    assert "Balancing cap of the last filter run: 1." in text
    matches = _matches(workspace_copy)
    survivors = [d for d in decisions if d["keep"] or d["reason"] == "balanced_out"]
    counts = Counter(e for d in survivors for e in matches[d["key"]])
    count, head = min((-n, entry) for entry, n in counts.items())
    kept = sum(1 for d in decisions if d["keep"] and head in matches[d["key"]])
    assert f"entrybeforeafter{head}{-count}{kept}" in text  # the first row of the table
    config["filter"]["balance_cap"] = 2
    path.write_text(yaml.safe_dump(config))
    assert main(["-q", "run", str(path), "--from", "filter", "--to", "shard"]) == 0
    looser = Counter(d["reason"] for d in _decisions(workspace_copy))
    assert looser["kept"] > reasons["kept"]

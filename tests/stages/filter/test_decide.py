"""The columnar decide phase gives exactly the decisions of a plain row-by-row reference (every
raw row joined with its scores as a dict, the rules one by one, pairs by brute force), and
scores from an older version are computed again."""

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit_pipeline.core.markers import Markers
from wit_pipeline.scoring.dedupe import DedupeRule, duplicate_of
from wit_pipeline.scoring.views import TEXTURED, describe_match
from wit_pipeline.stages.filter import DecideOptions, ScoreOptions, filter_stage
from wit_pipeline.stages.filter.shard_views import VIEW_COLUMNS

NO_CLIP = ScoreOptions(clip=None, workers=0, progress=False)


def _samples(workspace) -> list[dict]:
    samples = []
    for raw in sorted(workspace.raw_dir.glob("[0-9]*.parquet")):
        scores = {r["key"]: r for r in pq.read_table(workspace.scores_dir / raw.name).to_pylist()}
        for row in pq.read_table(raw).to_pylist():
            samples.append({**scores.get(row["key"], {}), **row, "shard": raw.stem})
    return samples


def _rule_reasons(s: dict, options: DecideOptions, threshold: float | None) -> list[tuple]:
    if s["status"] != "success":
        return [(s["status"], s.get("error_code"))]
    if s.get("error"):
        return [(s["error"].split(":", 1)[0], s["error"])]
    if s.get("width") is None:
        return [("decode_error", "no scores for this sample")]
    width = s.get("original_width") or s["width"]
    height = s.get("original_height") or s["height"]
    reasons = []
    if min(width, height) < options.min_image_size:
        reasons.append(("too_small", f"{width}x{height} < {options.min_image_size}"))
    ratio = max(width, height) / max(1, min(width, height))
    if ratio > options.max_aspect_ratio:
        reasons.append(("bad_aspect_ratio", f"{ratio:.2f} > {options.max_aspect_ratio:g}"))
    words = s.get("caption_words") or 0
    if words < options.min_caption_words:
        reasons.append(("few_caption_words", f"{words} < {options.min_caption_words}"))
    if options.langs and s.get("lang") not in options.langs:
        reasons.append(("wrong_lang", str(s.get("lang"))))
    score = s.get("clip_score")
    if threshold is not None and (score is None or score < threshold):
        shown = score if score is None else round(score, 4)
        reasons.append(("low_clip_score", f"{shown} < {threshold:.4f}"))
    return reasons


def _views(s: dict) -> list[tuple]:
    return list(zip(*(s[c] for c in VIEW_COLUMNS), strict=True))


def _signature_change(first: int, second: int) -> float:
    """Texture signatures' distance, byte by byte: orientation shares' L1 plus ratio step."""
    a, b = first.to_bytes(8, "little"), second.to_bytes(8, "little")
    shares = sum(abs(x - y) for x, y in zip(a[:7], b[:7], strict=True)) / 255
    return float(np.float32(shares + abs(a[7] - b[7]) / 127))


def _match(a: dict, b: dict, rule: DedupeRule) -> tuple | None:
    """The best confirmed view pair of two samples, by brute force: (whether it is two crops
    of one region, colour distance, pHash distance, kind of a's view, kind of b's view,
    texture change), or None."""
    found = []
    for phash_a, colour_a, soft_a, kind_a, aspect_a, texture_a in _views(a):
        for phash_b, colour_b, soft_b, kind_b, aspect_b, texture_b in _views(b):
            region_a, region_b = kind_a & 3, kind_b & 3
            crops = (region_a >= 2) + (region_b >= 2)
            same_crop = crops == 2 and region_a == region_b
            if (crops == 2 and not same_crop) or (crops and not kind_a & kind_b & TEXTURED):
                continue
            limit = rule.crop_distance if crops else rule.max_distance
            phash = (phash_a ^ phash_b).bit_count()
            colour = (int.from_bytes(colour_a) ^ int.from_bytes(colour_b)).bit_count()
            soft = (int.from_bytes(soft_a) ^ int.from_bytes(soft_b)).bit_count()
            whole = (region_a == 0 and region_b == 0) or same_crop
            colour = colour if whole else soft
            if whole:
                colour_limit = rule.max_colour_distance
                if phash <= rule.close_distance:
                    colour_limit += rule.close_colour_slack
            elif 3 in (region_a, region_b):
                colour_limit = rule.deep_crop_colour_distance
            else:
                colour_limit = rule.reframed_colour_distance
            change = _signature_change(texture_a, texture_b)
            mixed = (kind_a ^ kind_b) & TEXTURED
            flat = not (kind_a | kind_b) & TEXTURED and phash > rule.close_distance
            if (crops or mixed or flat) and change > np.float32(rule.max_texture_change):
                continue
            if (
                phash <= limit
                and colour <= colour_limit
                and abs(np.float32(aspect_a) - np.float32(aspect_b)) <= rule.max_aspect_change
            ):
                found.append((same_crop, colour, phash, kind_a, kind_b, change))
    return min(found) if found else None


def _reference(samples: list[dict], options: DecideOptions) -> list[dict]:
    threshold = None
    scores = [s["clip_score"] for s in samples if s.get("clip_score") is not None]
    if options.min_clip_score is not None:
        threshold = options.min_clip_score
    elif options.keep_fraction is not None:
        threshold = float(np.quantile(scores, 1.0 - options.keep_fraction, method="higher"))
    reasons = [_rule_reasons(s, options, threshold) for s in samples]
    hashed = [
        i
        for i, s in enumerate(samples)
        if s.get("phash") is not None and not s.get("error") and s["status"] == "success"
    ]
    duplicate_keys = [None] * len(samples)
    details = [(None, None, None, None)] * len(samples)
    if options.dedupe:
        rule = DedupeRule(max_distance=options.dedupe_distance)
        candidates = [samples[i] for i in hashed]
        matches = {
            (a, b): m
            for a in range(len(hashed))
            for b in range(a + 1, len(hashed))
            if (m := _match(candidates[a], candidates[b], rule)) is not None
        }

        def best_first(position):
            s = samples[hashed[position]]
            score = s.get("clip_score")
            return (-(score if score is not None else -2.0), -(s["width"] * s["height"]), s["key"])

        order = sorted(range(len(hashed)), key=best_first)
        rank = np.empty(len(hashed), dtype=np.int64)
        rank[order] = np.arange(len(hashed))
        keepable = np.array([not reasons[i] for i in hashed])
        pairs = np.array(sorted(matches)).reshape(-1, 2)
        target = duplicate_of(pairs, rank, keepable, rule.grouping)
        for position, kept in enumerate(target.tolist()):
            if kept >= 0:
                key = samples[hashed[kept]]["key"]
                reasons[hashed[position]].append(("duplicate", key))
                duplicate_keys[hashed[position]] = key
                _, colour, phash, low, high, change = matches[tuple(sorted((position, kept)))]
                mine, theirs = (low, high) if position < kept else (high, low)
                details[hashed[position]] = (phash, colour, describe_match(mine, theirs), change)
    return [
        {
            "key": s["key"],
            "shard": s["shard"],
            "keep": not r,
            "reason": r[0][0] if r else "kept",
            "reasons": [name for name, _ in r],
            "detail": (str(r[0][1]) if r[0][1] is not None else None) if r else None,
            "duplicate_of": d,
            "duplicate_phash_distance": detail[0],
            "duplicate_colour_distance": detail[1],
            "duplicate_texture_change": detail[3],
            "duplicate_edit": detail[2],
            "clip_score": s.get("clip_score"),
            "clip_model": s.get("clip_model"),
            "phash": s.get("phash"),
            "width": s.get("width"),
            "height": s.get("height"),
        }
        for s, r, d, detail in zip(samples, reasons, duplicate_keys, details, strict=True)
    ]


def _fake_clip_scores(workspace) -> None:
    """Random CLIP scores in the scores files, as if a model had scored them."""
    rng = np.random.default_rng(0)
    for path in sorted(workspace.scores_dir.glob("[0-9]*.parquet")):
        table = pq.read_table(path)
        decoded = table.column("width").is_valid().to_numpy()
        values = np.where(decoded, rng.uniform(-0.1, 0.4, table.num_rows), np.nan)
        scores = pa.array([None if math.isnan(v) else v for v in values], pa.float32())
        at = table.schema.get_field_index("clip_score")
        table = table.set_column(at, table.schema.field(at), scores)
        models = pa.array(["fake:model"] * table.num_rows, pa.string())
        at = table.schema.get_field_index("clip_model")
        table = table.set_column(at, table.schema.field(at), models)
        pq.write_table(table, path)


@pytest.mark.parametrize(
    "options",
    [
        DecideOptions(max_aspect_ratio=100),
        DecideOptions(
            min_image_size=100, max_aspect_ratio=2.0, min_caption_words=4, langs=frozenset({"en"})
        ),
        DecideOptions(keep_fraction=0.6, dedupe_distance=10),
        DecideOptions(min_clip_score=0.1, dedupe=False),
    ],
    ids=["default", "every-rule", "keep-fraction", "no-dedupe"],
)
def test_decisions_equal_a_row_by_row_reference(workspace_copy, options):
    filter_stage(workspace_copy, NO_CLIP, None)
    _fake_clip_scores(workspace_copy)
    summary = filter_stage(workspace_copy, None, options)
    decisions = pq.read_table(workspace_copy.decisions_path).to_pylist()
    expected = _reference(_samples(workspace_copy), options)
    assert decisions == expected
    assert summary.decisions.rows == len(expected)
    assert sum(d["keep"] for d in expected) == summary.decisions.funnel["kept"]


def test_scores_of_an_older_version_are_computed_again(workspace_copy):
    filter_stage(workspace_copy, NO_CLIP, None)
    markers = Markers(workspace_copy.scores_dir)
    path = workspace_copy.scores_dir / "00000.parquet"
    old = pq.read_table(path).drop_columns(["colour_hash"])
    pq.write_table(old, path)
    info = {k: v for k, v in markers.info("00000").items() if k != "facts"}
    markers.forget("00000")
    markers.mark_done("00000", info)
    again = filter_stage(workspace_copy, NO_CLIP, DecideOptions())
    assert (again.scored, again.cached) == (1, again.shards - 1)
    assert "colour_hash" in pq.read_table(path).column_names


def test_keys_out_of_row_order_still_break_ties_by_key(workspace_copy):
    filter_stage(workspace_copy, NO_CLIP, None)
    for folder in (workspace_copy.raw_dir, workspace_copy.scores_dir):
        path = folder / "00000.parquet"
        table = pq.read_table(path)
        pq.write_table(table.take(np.arange(table.num_rows)[::-1]), path)
    options = DecideOptions(max_aspect_ratio=100, dedupe_distance=10)
    filter_stage(workspace_copy, None, options)
    decisions = pq.read_table(workspace_copy.decisions_path).to_pylist()
    assert decisions == _reference(_samples(workspace_copy), options)
    assert any(d["reason"] == "duplicate" for d in decisions)

"""Precision and recall of pHash near-duplicate detection on the test web, per Hamming distance.

The test web plants exact duplicates and near duplicates (re-encoded, resized, cropped by a
few percent, brightness shifted) with a ground-truth group per image. This downloads the test
web with the download stage (256 px, border resize, as default), scores it without CLIP, and
counts, for each distance 0..10, the pairs found within that distance against the true pairs.

    python benchmarks/dedupe_study.py [--pages 40] [--seed 0] [--json PATH]

With --json, one row per distance: ours = true pairs found, anchor = the planted (ground truth)
pairs, ratio = recall, plus precision, found, false and missed (by kind).

At scale, the decisions themselves: `--scale 1000 10000 100000` hashes the scale study's webs
(scale_web.py; rendered once into `--cache`) the way the pipeline does (the download stage's
resize, then the score phase's `image_facts`: pHash and the dedupe views) and measures, per
pHash distance, the samples the dedupe drops against the planted groups (precision, recall,
kept share), for pHash alone grouped transitively (the first rule) and for the views matched by
the dedupe's rule (`wit_pipeline.scoring.dedupe.matched_pairs`), grouped by kept neighbour (the
default) or transitively. Rows go to `--scale-json`.

    python benchmarks/dedupe_study.py --scale 1000 10000 100000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from bench_rows import code_version, command_line, machine_summary, result_row, write_rows
from scale_study import IMAGES_PER_PAGE
from scale_web import render_all, scale_config
from testweb_workspace import download_testweb

from wit_pipeline.scoring import near_duplicate_pairs
from wit_pipeline.scoring.dedupe import DedupeRule, Views, duplicate_of, matched_pairs
from wit_pipeline.stages.download.image import inspect_image
from wit_pipeline.stages.download.unit import (
    SUCCESS,
    Outcome,
    ResizeOptions,
    make_backend,
    resize_outcome,
)
from wit_pipeline.stages.filter import ScoreOptions, filter_stage
from wit_pipeline.stages.filter.sample_facts import decode, image_facts
from wit_pipeline.stages.filter.shard_views import views_of
from wit_pipeline.testweb import SyntheticWeb, WebConfig

HERE = Path(__file__).resolve().parent


def hashed_samples(pages: int, seed: int, workdir: Path) -> list[tuple[int, int | None, str]]:
    """(pHash, true duplicate group, dup kind) of every downloaded ok image of the test web."""
    web = SyntheticWeb(
        WebConfig(
            seed=seed, pages=pages, near_dup_share=0.15, exact_dup_share=0.05, faults_per_kind=0
        )
    )
    workspace, ok = download_testweb(web, workdir, with_gif=False)
    filter_stage(workspace, ScoreOptions(clip=None, progress=False), None)
    by_url = {r["url"]: r for r in ok}
    samples = []
    for shard in sorted(workspace.raw_dir.glob("[0-9]*.parquet")):
        raw = pq.read_table(shard).to_pylist()
        scores = pq.read_table(workspace.scores_dir / shard.name).to_pylist()
        for row, score in zip(raw, scores, strict=True):
            if score["phash"] is not None:
                truth_row = by_url[row["url"]]
                samples.append((score["phash"], truth_row["dup_group"], truth_row["dup_kind"]))
    return samples


SCALE_DISTANCES = range(0, 11, 2)
"""pHash distances the scale study measures (odd ones equal the even ones below them)."""


@dataclass(frozen=True)
class Hashed:
    """The study's images: pHash, dedupe views and true duplicate group."""

    phash: np.ndarray
    views: Views
    group: np.ndarray


_worker_web: Any = None


def _hash_images(ids: list[int]) -> list[tuple[int, Views] | None]:
    """In a worker: each image through the download stage's resize (the default backend,
    the stage's defaults) and the score phase's `image_facts`, as the pipeline sees it."""
    resizer = make_backend(ResizeOptions())
    out: list[tuple[int, Views] | None] = []
    for image_id in ids:
        body = _worker_web.image_bytes(image_id)
        header = inspect_image(body, "", 10**9)
        resized = resize_outcome(Outcome(SUCCESS, image=body, header=header), resizer)
        if resized.status != SUCCESS:
            out.append(None)
            continue
        facts = image_facts(
            decode(resized.image), (resized.original_width, resized.original_height)
        )
        out.append((facts["phash"], views_of(facts)))
    return out


def hash_scale_web(samples: int, cache: Path, processes: int) -> Hashed:
    """Every image of the scale study's web of `samples` images (rendered into `cache` once),
    hashed as the pipeline hashes it, with its true duplicate group."""
    global _worker_web
    config = scale_config(samples // IMAGES_PER_PAGE)
    web, _ = render_all(config, cache, processes)
    truth = [r for r in web.ground_truth("http://127.0.0.1:1").to_pylist() if r["kind"] == "ok"]
    ids = [r["image_id"] for r in truth]
    _worker_web = web
    chunks = [ids[k : k + 500] for k in range(0, len(ids), 500)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        hashed = [h for part in pool.imap(_hash_images, chunks) for h in part]
    ok = [i for i, h in enumerate(hashed) if h is not None]
    return Hashed(
        phash=np.array([hashed[i][0] for i in ok], dtype=np.uint64),
        views=Views.concat([hashed[i][1].shifted(n) for n, i in enumerate(ok)]),
        group=np.array(
            [-1 if truth[i]["dup_group"] is None else truth[i]["dup_group"] for i in ok]
        ),
    )


def dedupe_outcome(hashed: Hashed, rule: DedupeRule | None, distance: int) -> dict[str, Any]:
    """Samples dropped as duplicates by `rule` (None: pHash alone, grouped transitively, as
    before the colour hash), against the planted groups: precision of the drops, recall of
    the planted duplicates (each group's members but one), the share kept."""
    count = hashed.phash.size
    if rule is None:
        pairs = near_duplicate_pairs(hashed.phash, distance)
        grouping = "transitive"
    else:
        rule = replace(rule, max_distance=distance)
        pairs = matched_pairs(hashed.views, rule).pairs
        grouping = rule.grouping
    target = duplicate_of(pairs, np.arange(count), np.ones(count, dtype=bool), grouping)
    dropped = np.flatnonzero(target >= 0)
    group = hashed.group
    right = int(((group[dropped] >= 0) & (group[dropped] == group[target[dropped]])).sum())
    sizes = np.bincount(group[group >= 0])
    planted = int((sizes[sizes > 0] - 1).sum())
    return {
        "pairs": len(pairs),
        "dropped": dropped.size,
        "precision": round(right / dropped.size, 3) if dropped.size else 1.0,
        "recall": round(right / planted, 3) if planted else 1.0,
        "kept_share": round(1 - dropped.size / count, 3),
        "planted": planted,
    }


def modes() -> dict[str, DedupeRule | None]:
    """The rules compared: pHash alone (the first rule), the views with the default rule, and
    the views grouped transitively."""
    default = DedupeRule()
    return {
        "pHash only, transitive (before)": None,
        f"views, {default.grouping}": default,
        "views, transitive": replace(default, grouping="transitive"),
    }


def scale_study(sizes: list[int], cache: Path, processes: int) -> list[dict[str, Any]]:
    """Precision, recall and kept share per size, mode and pHash distance; prints a table."""
    rows = []
    print("| images | grouping | distance | pairs | dropped | precision | recall | kept |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for samples in sizes:
        started = time.perf_counter()
        hashed = hash_scale_web(samples, cache, processes)
        seconds = time.perf_counter() - started
        for mode, rule in modes().items():
            for distance in SCALE_DISTANCES:
                outcome = dedupe_outcome(hashed, rule, distance)
                print(
                    f"| {hashed.phash.size:,} | {mode} | {distance} | {outcome['pairs']:,} | "
                    f"{outcome['dropped']:,} | {outcome['precision']:.3f} | "
                    f"{outcome['recall']:.3f} | {outcome['kept_share']:.3f} |",
                    flush=True,
                )
                rows.append(
                    {
                        "images": int(hashed.phash.size),
                        "samples": samples,
                        "mode": mode,
                        "distance": distance,
                        "hash_seconds": round(seconds, 1),
                        **outcome,
                    }
                )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Download and hash the test web, then count the pairs found within each distance."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="write the result rows to this JSON file")
    parser.add_argument("--scale", type=int, nargs="+", metavar="SAMPLES", help="scale webs")
    parser.add_argument("--cache", type=Path, default=Path("wit-data/scale/webs"))
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--scale-json", type=Path, default=HERE / "results" / "dedupe_scale.json")
    args = parser.parse_args(argv)
    if args.scale:
        rows = scale_study(args.scale, args.cache, args.processes)
        report = {
            "machine": machine_summary(),
            "code": code_version(),
            "date": time.strftime("%Y-%m-%d"),
            "command": command_line("dedupe_study.py", argv),
            "results": rows,
        }
        args.scale_json.write_text(json.dumps(report, indent=2) + "\n")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        samples = hashed_samples(args.pages, args.seed, Path(tmp))
    pairs = [
        (
            (a[0] ^ b[0]).bit_count(),
            a[1] is not None and a[1] == b[1],
            b[2] if b[2] not in ("original", "none") else a[2],
        )
        for a, b in combinations(samples, 2)
    ]
    true_total = sum(1 for _, same, _ in pairs if same)
    print(
        f"{len(samples)} images, {true_total} true duplicate pairs, "
        f"{len(pairs):,} pairs in all (seed {args.seed}, {args.pages} pages)"
    )
    print(
        f"{'distance':>8} {'found':>7} {'true':>6} {'false':>6} {'precision':>10} {'recall':>7}"
        "  missed by kind"
    )
    rows = []
    for distance in range(11):
        found = [(same, kind) for d, same, kind in pairs if d <= distance]
        true = sum(1 for same, _ in found if same)
        missed: dict[str, int] = {}
        for d, same, kind in pairs:
            if same and d > distance:
                missed[kind] = missed.get(kind, 0) + 1
        precision = true / len(found) if found else 1.0
        recall = true / true_total if true_total else 1.0
        print(
            f"{distance:>8} {len(found):>7} {true:>6} {len(found) - true:>6} {precision:>10.3f} "
            f"{recall:>7.3f}  {', '.join(f'{k} {v}' for k, v in sorted(missed.items()))}"
        )
        rows.append(
            result_row(
                "dedupe",
                f"pHash pairs within distance {distance}",
                true,
                "planted duplicate pairs (ground truth)",
                true_total,
                "true pairs",
                distance=distance,
                found=len(found),
                false=len(found) - true,
                precision=round(precision, 3),
                recall=round(recall, 3),
                missed=dict(sorted(missed.items())),
                images=len(samples),
                all_pairs=len(pairs),
            )
        )
    if args.json:
        write_rows(args.json, rows, command_line("dedupe_study.py", argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())

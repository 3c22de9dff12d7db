"""Precision and recall of pHash near-duplicate detection on the test web, per Hamming distance.

The test web plants exact duplicates and near duplicates (re-encoded, resized, cropped by a
few percent, brightness shifted) with a ground-truth group per image. This downloads the test
web with the download stage (256 px, border resize, as default), scores it without CLIP, and
counts, for each distance 0..10, the pairs found within that distance against the true pairs.

    python benchmarks/dedupe_study.py [--pages 40] [--seed 0] [--json PATH]

With --json, one row per distance: ours = true pairs found, anchor = the planted (ground truth)
pairs, ratio = recall, plus precision, found, false and missed (by kind).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from itertools import combinations
from pathlib import Path

import pyarrow.parquet as pq
from bench_rows import command_line, result_row, write_rows
from testweb_workspace import download_testweb

from wit_pipeline.stages.filter import ScoreOptions, filter_stage
from wit_pipeline.testweb import SyntheticWeb, WebConfig


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


def main(argv: list[str] | None = None) -> int:
    """Download and hash the test web, then count the pairs found within each distance."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="write the result rows to this JSON file")
    args = parser.parse_args(argv)
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

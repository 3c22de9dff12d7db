"""Browse and search at scale: a synthetic workspace of N raw samples (decisions, samples,
scores, manifest and saved image embeddings, as the filter writes them), then the latency of
what the page and `search` do, against the 1 s target of issue #23.

Opening (items table, caption postings, vectors and their faiss index) is timed once and
reported apart: the page pays it when it starts, not per request. Each request is timed cold
(first call) and as the median of `--repeats` calls; the HTTP rows go through the real server
on 127.0.0.1. Query vectors are embeddings of the set plus noise: encoding a text with the
filter's model is independent of N and not timed here.

    python benchmarks/browse_bench.py [--rows 1000000] [--dim 512] [--repeats 5] [--json F]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from bench_rows import command_line, result_row, write_rows

from wit_pipeline.browse import Filters, Index
from wit_pipeline.browse.server import BrowseServer
from wit_pipeline.core.workspace import Workspace

TARGET_S = 1.0
TARGET = "target of issue #23"
SHARD_ROWS = 10_000
REASONS = np.array(["kept", "low_clip_score", "duplicate", "too_small", "bad_aspect_ratio",
                    "failed_to_download", "caption_language"])  # fmt: skip
REASON_SHARE = np.array([0.35, 0.25, 0.1, 0.08, 0.05, 0.12, 0.05])
LANGS = np.array(["en", "de", "fr", "es", "ja"])
VOCABULARY = 5_000
MODEL = "ViT-B-32:openai"


def words(rng: np.random.Generator) -> np.ndarray:
    """A Zipf-ish vocabulary: a few colour and shape words, then made-up ones."""
    real = ["red", "blue", "green", "star", "circle", "photo", "of", "a", "the", "dog", "cat",
            "house", "tree", "car", "on", "in", "with", "black", "white", "yellow"]  # fmt: skip
    made = [f"w{i:04d}" for i in range(VOCABULARY - len(real))]
    return np.array(real + made)


def captions(rng: np.random.Generator, count: int, vocabulary: np.ndarray) -> list[str]:
    """Captions of 3 to 12 words drawn with Zipf frequencies."""
    ranks = np.minimum(rng.zipf(1.3, size=(count, 12)) - 1, len(vocabulary) - 1)
    lengths = rng.integers(3, 13, count)
    table = vocabulary[ranks]
    return [" ".join(row[:n]) for row, n in zip(table, lengths, strict=True)]


def unit_vectors(rng: np.random.Generator, count: int, dim: int, centres: np.ndarray) -> np.ndarray:
    """Unit vectors around random centres (clustered like real embeddings)."""
    picked = centres[rng.integers(0, len(centres), count)]
    vectors = picked + 0.5 * rng.standard_normal((count, dim), dtype=np.float32) / np.sqrt(dim)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def build_workspace(root: Path, rows: int, dim: int, seed: int = 0) -> Workspace:
    """Write the synthetic workspace: one raw shard's files per SHARD_ROWS samples."""
    rng = np.random.default_rng(seed)
    workspace = Workspace(root).create()
    for folder in (workspace.raw_dir, workspace.scores_dir / "embeddings", workspace.shards_dir):
        folder.mkdir(parents=True, exist_ok=True)
    vocabulary = words(rng)
    centres = rng.standard_normal((1000, dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    decided, kept = [], []
    for shard_index, first in enumerate(range(0, rows, SHARD_ROWS)):
        shard, count = f"{shard_index:05d}", min(SHARD_ROWS, rows - first)
        keys = np.array([f"{shard_index:05d}{i:04d}" for i in range(count)])
        urls = [f"https://img.example/{shard}/{k}.jpg" for k in keys]
        reason = REASONS[rng.choice(len(REASONS), count, p=REASON_SHARE)]
        downloaded = reason != "failed_to_download"
        status = np.where(downloaded, "success", "error")
        pq.write_table(pa.table({"url": urls, "caption": captions(rng, count, vocabulary),
                                 "key": keys, "status": status,
                                 "error_code": np.where(downloaded, None, "http_404")}),
                       workspace.raw_dir / f"{shard}.parquet")  # fmt: skip
        score = np.where(downloaded, rng.uniform(0.1, 0.45, count), np.nan).astype(np.float32)
        lang = LANGS[rng.choice(len(LANGS), count, p=[0.7, 0.1, 0.1, 0.05, 0.05])]
        error = pa.array([None] * count, pa.string())
        pq.write_table(pa.table({"key": keys[downloaded], "lang": lang[downloaded],
                                 "clip_score": score[downloaded],
                                 "error": error.filter(pa.array(downloaded))}),
                       workspace.scores_dir / f"{shard}.parquet")  # fmt: skip
        np.savez(workspace.scores_dir / "embeddings" / f"{shard}.npz", key=keys[downloaded],
                 image=unit_vectors(rng, int(downloaded.sum()), dim, centres),
                 text=np.zeros((int(downloaded.sum()), 0), np.float32))  # fmt: skip
        side = np.where(downloaded, rng.integers(64, 1024, count), 0).astype(np.int32)
        duplicate_of = np.where(reason == "duplicate", keys[rng.integers(0, count, count)], None)
        decided.append(pa.table({
            "key": keys, "shard": np.full(count, shard), "keep": reason == "kept",
            "reason": reason, "reasons": [[r] for r in reason],
            "duplicate_of": pa.array(duplicate_of, pa.string()),
            "clip_score": pa.array(score, pa.float32(), from_pandas=True),
            "clip_model": np.where(downloaded, MODEL, None), "width": side, "height": side,
        }))  # fmt: skip
        kept.append(
            pa.table(
                {
                    "key": keys[reason == "kept"],
                    "shard": np.full(int((reason == "kept").sum()), "00000.tar"),
                    "raw_key": keys[reason == "kept"],
                }
            )
        )
    pq.write_table(pa.concat_tables(decided), workspace.decisions_path)
    pq.write_table(pa.concat_tables(kept), workspace.shards_dir / "manifest.parquet")
    return workspace


def timed(action: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """Seconds of the first call, the median of `repeats` more, and the last answer."""
    start = time.perf_counter()
    answer = action()
    cold = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        answer = action()
        times.append(time.perf_counter() - start)
    return cold, statistics.median(times), answer


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return answer.read()


def measure(workspace: Workspace, rows: int, repeats: int, kind: str) -> list[dict[str, Any]]:
    """Open the index with vectors of `kind`, then time every request."""
    out: list[dict[str, Any]] = []

    def row(metric: str, seconds: float, **extra: Any) -> None:
        print(f"{metric:<58} {seconds * 1000:9.1f} ms", flush=True)
        name = f"{metric} [{kind}]"
        out.append(result_row("browse", name, round(seconds, 4), TARGET, TARGET_S, "s",
                              higher_is_better=False, rows=rows, index=kind, **extra))  # fmt: skip

    start = time.perf_counter()
    with Index.open(workspace, kind) as index:
        opened = time.perf_counter() - start
        start = time.perf_counter()
        index.captions("red")
        postings = time.perf_counter() - start
        start = time.perf_counter()
        vectors = index.vectors
        loaded = time.perf_counter() - start
        print(f"open {opened:.1f} s, caption postings {postings:.1f} s, {len(vectors):,} vectors "
              f"{loaded:.1f} s ({kind})", flush=True)  # fmt: skip
        setup = {"open_s": round(opened, 2), "postings_s": round(postings, 2),
                 "vectors_s": round(loaded, 2)}  # fmt: skip
        rng = np.random.default_rng(1)
        probe = vectors.matrix[rng.integers(0, len(vectors))]
        query = probe + 0.02 * rng.standard_normal(probe.shape, dtype=np.float32)
        dropped = Filters(keep=False, reason="low_clip_score", lang="en")
        cases: list[tuple[str, Callable[[], Any]]] = [
            ("first page, no filter (48 of N)", lambda: index.page(Filters(), 0, 48)),
            ("first page + count, 3 filters", lambda: (index.page(dropped, 0, 48),
                                                       index.count(dropped))),
            ("page 1000, no filter", lambda: index.page(Filters(), 48_000, 48)),
            ("caption search, 2 words, k=48", lambda: index.captions("red star", k=48)),
            ("caption search, 2 words, 3 filters", lambda: index.captions("red star", dropped, 48)),
            ("image search by vector, k=48", lambda: index.nearest(query, k=48)),
            ("image search by vector, 3 filters", lambda: index.nearest(query, dropped, 48)),
            ("one sample + duplicates", lambda: (index.item("000010007"),
                                                 index.duplicates("000010007"))),
            ("funnel (counted once, then cached)", lambda: type(index).funnel.func(index)),
        ]  # fmt: skip
        for metric, action in cases:
            cold, warm, _ = timed(action, repeats)
            row(metric, warm, cold_s=round(cold, 4), **setup)
        server = BrowseServer(index, "127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            like = index.page(Filters(step="scored"), 0, 1)[0].item["key"]
            for metric, path in (
                ("HTTP: first page", ""),
                ("HTTP: caption search page", "?q=red+star&in=captions"),
                ("HTTP: images like a sample, filtered", f"?like={like}&keep=dropped"),
            ):
                cold, warm, _ = timed(lambda p=path: fetch(server.url + p), repeats)
                row(metric, warm, cold_s=round(cold, 4), **setup)
        finally:
            server.shutdown()
            server.server_close()
    return out


def main(argv: list[str] | None = None) -> int:
    """Build the workspace, measure with exact vectors and with faiss, write the rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=512, help="embedding size (ViT-B-32: 512)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workdir", type=Path, help="keep the workspace here (default: temp)")
    parser.add_argument("--json", help="write the result rows to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="browse-bench-") as temp:
        root = args.workdir or Path(temp) / "w"
        start = time.perf_counter()
        workspace = build_workspace(root, args.rows, args.dim)
        print(f"wrote {args.rows:,} samples in {time.perf_counter() - start:.0f} s", flush=True)
        rows = measure(workspace, args.rows, args.repeats, "exact")
        rows += measure(workspace, args.rows, args.repeats, "faiss")
    slowest = max(r["ours"] for r in rows)
    print(f"slowest request {slowest * 1000:.0f} ms (target {TARGET_S * 1000:.0f} ms)")
    if args.json:
        write_rows(args.json, rows, command_line("browse_bench.py", argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())

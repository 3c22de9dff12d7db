"""Throughput of the shard stage and of the streaming reader against plain anchors, in one run.

Write: `write_shards` (plan + shuffled copy of the kept samples' jpg/txt/json members by offset,
fixed headers, manifest) into a fresh folder each repeat, against a plain `tarfile` copy of the
same kept members from the raw tars into new tars of the same size (raw order, no shuffle, no
manifest). Target: ours >= 0.5x the anchor (samples/s).

Read: one epoch of `shard_pipeline(..., decode="pil")` under `DataLoader(num_workers=2,
batch_size=None)` (worker start-up included), against decode-only: every .jpg member of the same
shards opened with PIL and `convert("RGB")`, in one process and split over 2 processes.

A workspace (raw/ + decisions.parquet) is built once from the synthetic test web with the real
download stage and the filter stage without CLIP. Runs alternate (A B A B ...); the verdict uses
each side's best run (on a shared machine noise only slows a run down), the median is shown too.

    python benchmarks/shard_bench.py [--pages 300] [--samples-per-shard 256] [--repeats 5]
        [--workspace DIR] [--json PATH]
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch
from bench_rows import command_line, machine_summary, result_row, write_rows
from PIL import Image
from testweb_workspace import download_testweb

from wit_pipeline.core.workspace import Workspace
from wit_pipeline.reader import shard_pipeline
from wit_pipeline.stages.filter import DecideOptions, ScoreOptions, filter_stage
from wit_pipeline.stages.shard import write_shards
from wit_pipeline.testweb import SyntheticWeb, WebConfig

EXTENSIONS = ("jpg", "txt", "json")
MB = 1e6


@dataclass
class Timing:
    """Seconds and bytes of every repeat of one side of a comparison."""

    name: str
    samples: int
    seconds: list[float] = field(default_factory=list)
    nbytes: list[int] = field(default_factory=list)

    def rates(self) -> list[float]:
        """Samples per second of each repeat."""
        return [self.samples / s for s in self.seconds]

    def best(self) -> float:
        """Samples per second of the fastest repeat."""
        return max(self.rates())

    def median(self) -> float:
        """Median samples per second."""
        return statistics.median(self.rates())

    def best_mb_s(self) -> float:
        """MB/s (bytes the side wrote or read) of the fastest repeat."""
        index = self.seconds.index(min(self.seconds))
        return self.nbytes[index] / MB / self.seconds[index]


def build_workspace(pages: int, root: Path) -> Workspace:
    """A workspace under `root` with raw/ downloaded from the test web and decisions.parquet
    (reused when `root` already holds one)."""
    workspace = Workspace(root / "w")
    if workspace.decisions_path.is_file():
        return workspace
    web = SyntheticWeb(WebConfig(seed=0, pages=pages, faults_per_kind=0))
    workspace, _ = download_testweb(web, root, processes=2, threads=16)
    filter_stage(workspace, ScoreOptions(clip=None, progress=False), DecideOptions())
    return workspace


def kept_keys(workspace: Workspace) -> dict[str, set[str]]:
    """raw shard name -> the kept sample keys in it."""
    table = pq.read_table(workspace.decisions_path, columns=["key", "shard", "keep"])
    kept = table.filter(pc.equal(table["keep"], True)).to_pylist()
    keys: dict[str, set[str]] = {}
    for row in kept:
        keys.setdefault(row["shard"], set()).add(row["key"])
    return keys


def folder_bytes(folder: Path) -> int:
    """Total size of the .tar files in `folder`."""
    return sum(p.stat().st_size for p in folder.glob("*.tar"))


def kept_members(raw: tarfile.TarFile, keys: set[str]) -> list[list[tarfile.TarInfo]]:
    """The jpg/txt/json member headers of each kept sample of `raw`, in tar order."""
    samples: dict[str, list[tarfile.TarInfo]] = {}
    for info in raw:
        key, _, ext = info.name.partition(".")
        if ext in EXTENSIONS and key in keys:
            samples.setdefault(key, []).append(info)
    return list(samples.values())


def anchor_copy(workspace: Workspace, keys: dict[str, set[str]], out: Path, per_shard: int) -> int:
    """Copy the kept members from the raw tars into tars of `per_shard` samples; bytes out."""
    out.mkdir(parents=True)
    with ExitStack() as stack:
        samples = []
        for shard in sorted(keys):
            raw = stack.enter_context(tarfile.open(workspace.raw_dir / f"{shard}.tar", "r:"))
            samples += [(raw, members) for members in kept_members(raw, keys[shard])]
        for index, first in enumerate(range(0, len(samples), per_shard)):
            path = out / f"{index:05d}.tar"
            with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
                for raw, members in samples[first : first + per_shard]:
                    for info in members:
                        tar.addfile(info, raw.extractfile(info))
    return folder_bytes(out)


def ours_write(workspace: Workspace, out: Path, per_shard: int) -> int:
    """write_shards into the fresh folder `out` (seed 0, one process); bytes out."""
    write_shards(workspace, samples_per_shard=per_shard, seed=0, out=out, processes=1)
    return folder_bytes(out)


def decode_tar(path: Path) -> int:
    """Open every .jpg member of `path` with PIL and convert to RGB; how many."""
    count = 0
    with tarfile.open(path, "r:") as tar:
        for info in tar:
            if info.name.endswith(".jpg"):
                data = tar.extractfile(info).read()
                Image.open(io.BytesIO(data)).convert("RGB")
                count += 1
    return count


def decode_only(tars: list[Path], processes: int) -> int:
    """Decode every .jpg of `tars` in 1 or `processes` processes (pool start-up included)."""
    if processes == 1:
        return sum(decode_tar(t) for t in tars)
    with ProcessPoolExecutor(processes) as pool:
        return sum(pool.map(decode_tar, tars))


def reader_epoch(folder: Path, workers: int) -> int:
    """One epoch of the streaming reader (decode "pil") under a DataLoader; samples seen."""
    pipeline = shard_pipeline(folder, epoch_seed=0, decode="pil")
    pipeline.set_epoch(0)
    loader = torch.utils.data.DataLoader(pipeline, batch_size=None, num_workers=workers)
    count = 0
    for sample in loader:
        sample["jpg"].size  # noqa: B018 - touch the decoded image
        count += 1
    return count


def alternate(sides: list[tuple[Timing, Callable[[], int]]], repeats: int) -> None:
    """Run the sides in turn `repeats` times, recording seconds and bytes of each run."""
    for _ in range(repeats):
        for timing, run in sides:
            start = time.perf_counter()
            nbytes = run()
            timing.seconds.append(time.perf_counter() - start)
            timing.nbytes.append(nbytes)


def write_pair(workspace: Workspace, args: argparse.Namespace, scratch: Path) -> list[Timing]:
    """Time write_shards against the tarfile anchor, each into a fresh folder every repeat."""
    keys = kept_keys(workspace)
    samples = sum(len(v) for v in keys.values())
    anchor, ours = Timing("anchor: tarfile copy", samples), Timing("ours: write_shards", samples)
    runs = iter(range(10_000))

    def fresh() -> Path:
        return scratch / f"out{next(runs)}"

    def run_anchor() -> int:
        out = fresh()
        nbytes = anchor_copy(workspace, keys, out, args.samples_per_shard)
        shutil.rmtree(out)
        return nbytes

    def run_ours() -> int:
        out = fresh()
        nbytes = ours_write(workspace, out, args.samples_per_shard)
        shutil.rmtree(out)
        return nbytes

    alternate([(ours, run_ours), (anchor, run_anchor)], args.repeats)
    return [anchor, ours]


def read_pair(folder: Path, args: argparse.Namespace) -> list[Timing]:
    """Time the reader (2 workers) against decode-only in 1 and 2 processes on `folder`."""
    tars = sorted(folder.glob("*.tar"))
    samples = sum(decode_tar(t) for t in tars)  # also warms the page cache
    nbytes = folder_bytes(folder)
    one = Timing("decode-only, 1 process", samples)
    two = Timing(f"decode-only, {args.workers} processes", samples)
    ours = Timing(f"ours: reader, DataLoader {args.workers} workers", samples)

    def run(fn: Callable[[], int]) -> Callable[[], int]:
        def timed() -> int:
            seen = fn()
            if seen != samples:
                raise RuntimeError(f"saw {seen} samples, expected {samples}")
            return nbytes

        return timed

    alternate(
        [
            (ours, run(lambda: reader_epoch(folder, args.workers))),
            (one, run(lambda: decode_only(tars, 1))),
            (two, run(lambda: decode_only(tars, args.workers))),
        ],
        args.repeats,
    )
    return [one, two, ours]


def print_table(title: str, timings: list[Timing], anchor: Timing) -> None:
    """A markdown table: best and median samples/s, MB/s, and the ratio to `anchor`."""
    print(f"\n{title}\n")
    print("| | samples | best s | samples/s | MB/s | median samples/s | vs anchor (best) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for t in timings:
        print(
            f"| {t.name} | {t.samples:,} | {min(t.seconds):.2f} | {t.best():,.0f} | "
            f"{t.best_mb_s():.1f} | {t.median():,.0f} | {t.best() / anchor.best():.2f}x |"
        )
    for t in timings:
        print(f"  {t.name}: runs s = {', '.join(f'{s:.2f}' for s in t.seconds)}")


def json_rows(writes: list[Timing], reads: list[Timing]) -> list[dict]:
    """Writing against the tarfile copy; the reader against decode-only in 1 and N processes."""
    anchor_copy, ours_writes = writes
    one, many, reader = reads
    found = [
        result_row(
            "shard",
            f"write {ours_writes.samples:,} kept samples into shards (write_shards)",
            round(ours_writes.best(), 1),
            anchor_copy.name.removeprefix("anchor: "),
            round(anchor_copy.best(), 1),
            "samples/s",
            median_ratio=round(ours_writes.median() / anchor_copy.median(), 3),
        )
    ]
    for anchor in (one, many):
        found.append(
            result_row(
                "shard",
                f"read one epoch ({reader.name.removeprefix('ours: ')})",
                round(reader.best(), 1),
                anchor.name,
                round(anchor.best(), 1),
                "samples/s",
                median_ratio=round(reader.median() / anchor.median(), 3),
            )
        )
    return found


def main(argv: list[str] | None = None) -> int:
    """Build the workspace once, run both comparisons, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--samples-per-shard", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workspace", type=Path, help="keep (and reuse) the workspace here")
    parser.add_argument("--json", metavar="PATH", help="write the result rows to this JSON file")
    args = parser.parse_args(argv)
    print(f"Machine: {machine_summary()}")
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        start = time.perf_counter()
        workspace = build_workspace(args.pages, args.workspace or scratch / "w")
        print(f"Workspace built in {time.perf_counter() - start:.0f} s: {workspace.root}")
        raw_bytes = sum(p.stat().st_size for p in workspace.raw_dir.glob("*.tar"))
        print(
            f"Settings: pages {args.pages}, {len(list(workspace.raw_dir.glob('*.tar')))} raw "
            f"tars ({raw_bytes / MB:.1f} MB), samples per shard {args.samples_per_shard}, "
            f"repeats {args.repeats}, workers {args.workers}"
        )
        writes = write_pair(workspace, args, scratch)
        print_table("Write: write_shards vs tarfile copy", writes, writes[0])
        folder = scratch / "shards"
        ours_write(workspace, folder, args.samples_per_shard)
        reads = read_pair(folder, args)
        print_table("Read: streaming reader vs decode-only", reads, reads[0])
        ratio = writes[1].best() / writes[0].best()
        print(f"\nWrite target >= 0.5x: {ratio:.2f}x ({'met' if ratio >= 0.5 else 'NOT met'})")
    if args.json:
        write_rows(args.json, json_rows(writes, reads), command_line("shard_bench.py", argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())

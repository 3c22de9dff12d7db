"""Run every benchmark, one after another, each on the input size `make bench` uses, then
rewrite BENCHMARKS.md from their JSON figures (bench_report.py).

Each benchmark is its own script (runnable alone, same arguments); here each writes its rows to
`benchmarks/results/NAME.json` (old figures of a benchmark are deleted before it runs, so a
table is never left over from an earlier run) and its output to `wit-data/bench/NAME.log`.
`benchmarks/results/run.json` records when, on what code and machine, and how long each took.

    python benchmarks/run_all.py                  # everything (make bench)
    python benchmarks/run_all.py --only scrape    # some, then rewrite BENCHMARKS.md
    python benchmarks/run_all.py --render-only    # rewrite BENCHMARKS.md from stored figures
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_report import render
from bench_rows import code_version, machine_summary

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ENV = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "WANDB_MODE": "disabled"}


@dataclass(frozen=True)
class Benchmark:
    """One script and the arguments `make bench` gives it."""

    name: str
    script: str
    args: tuple[str, ...]
    needs_gpu: bool = False

    def command(self) -> str:
        """How to run it alone."""
        return " ".join(["python", f"benchmarks/{self.script}", *self.args])


BENCHMARKS = (
    Benchmark("scrape", "scrape_bench.py", ("--pages", "300", "--repeat", "2")),
    Benchmark(
        "download",
        "download_bench.py",
        ("--urls", "2000", "--repeat", "2", "--fault-cap", "150"),
    ),
    Benchmark(
        "download_photos",
        "download_bench.py",
        ("--photo-sized", "--urls", "1000", "--repeat", "2"),
    ),
    Benchmark("resize", "resize_bench.py", ("--images", "400", "--repeats", "3")),
    Benchmark("dedupe", "dedupe_study.py", ("--pages", "40")),
    Benchmark("dedupe_real", "dedupe_real.py", ()),
    Benchmark("language", "language_bench.py", ()),
    Benchmark("entries", "entries_bench.py", ("--entries", "500000", "--captions", "300")),
    Benchmark("near_dup", "near_dup_bench.py", ("--sizes", "1000000", "--distance", "4", "8")),
    Benchmark("semantic_dedupe", "semantic_dedupe_bench.py", ("--size", "1000000")),
    Benchmark(
        "score",
        "score_bench.py",
        ("--images", "192", "--decode-images", "4096", "--repeats", "2", "--decode-repeats", "3"),
    ),
    Benchmark("shard", "shard_bench.py", ("--pages", "200", "--repeats", "3")),
    Benchmark("train", "train_bench.py", ("--samples", "1024", "--steps", "20")),
    Benchmark("browse", "browse_bench.py", ("--rows", "1000000", "--repeats", "5")),
    Benchmark("gpu_score", "gpu_score_bench.py", (), needs_gpu=True),
)
"""Sizes chosen so that the whole run takes under 20 minutes on 2 shared cores."""


def supports_json(script: Path) -> bool:
    """Whether the script takes `--json PATH` (those that do not yet are run, not parsed)."""
    return "--json" in script.read_text()


def has_gpu() -> bool:
    """Whether torch sees a CUDA device (checked in a child, to keep torch out of this one)."""
    if importlib.util.find_spec("torch") is None:
        return False
    probe = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    return subprocess.run([sys.executable, "-c", probe], env=ENV).returncode == 0


def run_one(bench: Benchmark, results: Path, logs: Path) -> dict[str, Any]:
    """Run one benchmark; its status, seconds, command and date."""
    script = HERE / bench.script
    record = {"command": bench.command(), "date": time.strftime("%Y-%m-%d %H:%M")}
    if not script.is_file():
        return record | {"status": "no such script yet", "seconds": 0.0}
    output = results / f"{bench.name}.json"
    output.unlink(missing_ok=True)
    command = [sys.executable, str(script), *bench.args]
    with_json = supports_json(script)
    if with_json:
        command += ["--json", str(output)]
    log = logs / f"{bench.name}.log"
    print(f"[{time.strftime('%H:%M:%S')}] {bench.command()}", flush=True)
    start = time.perf_counter()
    with open(log, "wb") as out:
        code = subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=ENV)
    seconds = round(time.perf_counter() - start, 1)
    if code.returncode != 0:
        tail = log.read_text(errors="replace")[-1500:]
        print(f"  FAILED (exit {code.returncode}) after {seconds} s; end of {log}:\n{tail}")
        status = f"failed (exit {code.returncode})"
    elif not with_json:
        status = "ran; no --json support yet, so no figures were read"
    else:
        status = "ok"
    print(f"  {status} in {seconds} s", flush=True)
    return record | {"status": status, "seconds": seconds}


def update_run_record(path: Path, records: dict[str, dict], total: float, full: bool) -> None:
    """Write run.json: a full run replaces it; a partial one updates its benchmarks' records
    and notes which were rerun."""
    fresh = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "code": code_version(),
        "machine": machine_summary(),
        "total_s": round(total, 1) if full else None,
        "benchmarks": {},
    }
    run = fresh if full or not path.is_file() else json.loads(path.read_text())
    run["benchmarks"] = {**run["benchmarks"], **records}
    if not full:
        run["partial_rerun"] = {"date": fresh["date"], "names": list(records)}
    path.write_text(json.dumps(run, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks in turn, record them, rewrite BENCHMARKS.md."""
    names = [b.name for b in BENCHMARKS]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=names, help="run just these")
    parser.add_argument("--skip", nargs="+", choices=names, default=[], help="do not run these")
    parser.add_argument("--render-only", action="store_true", help="run nothing, only render")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--logs", type=Path, default=ROOT / "wit-data" / "bench")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    args.results.mkdir(parents=True, exist_ok=True)
    args.logs.mkdir(parents=True, exist_ok=True)
    failed = []
    if not args.render_only:
        chosen = [b for b in BENCHMARKS if (args.only is None or b.name in args.only)]
        chosen = [b for b in chosen if b.name not in args.skip]
        print(f"machine: {machine_summary()}; code {code_version()}", flush=True)
        gpu = any(b.needs_gpu for b in chosen) and has_gpu()
        start = time.perf_counter()
        records = {}
        for bench in chosen:
            if bench.needs_gpu and not gpu:
                print(f"skipping {bench.name}: needs a CUDA GPU (stored figures kept)")
                continue
            records[bench.name] = run_one(bench, args.results, args.logs)
            if records[bench.name]["status"].startswith("failed"):
                failed.append(bench.name)
        total = time.perf_counter() - start
        full = args.only is None and not args.skip
        update_run_record(args.results / "run.json", records, total, full)
        print(f"all done in {total / 60:.1f} min", flush=True)
    render(args.results, HERE / "BENCHMARKS.in.md", args.output)
    print(f"wrote {args.output}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

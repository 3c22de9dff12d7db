"""Scale study: the whole pipeline through the runner on the test web at growing sizes, each
stage in its own process, with its wall time and peak memory.

Per size (samples = pages x 8 images): the test web's images are rendered once into a cache
(scale_web.py) and served by the project's WebServer from its own process; then each step runs
as `runner_step.py STEP.yaml STAGE` (load_config + run_pipeline, as the DAG's tasks run a
stage) in a fresh process: scrape (crawl of the served site), download, filter's score phase
without CLIP, the score phase again with a tiny random open_clip model (tiny_clip.py: the
config of tests/conftest.py TINY_CLIP), filter's decide phase (the global dedupe) and shard;
then decide with --no-dedupe and shard again, so the shard stage is also measured with every
sample kept. Memory bounds checked from 10k to 100k: every step's peak within 1.5x, except the
decide phase: at most 16 bytes more per sample. Each result records a digest of the source files
its process imported, since the working tree may change between sizes.

    python benchmarks/scale_study.py [--sizes 1000 10000 100000] [--workdir wit-data/scale]
        [--json benchmarks/results/scale.json] [--figure benchmarks/figures/scale.png]

Results of earlier sizes (and steps) in the JSON are kept, so sizes can be run one at a time;
`--steps decide decide-no-dedupe` measures only those (scrape, download and score run first,
unreported unless named).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml
from bench_rows import code_version, machine_summary
from runner_step import DIGEST_PREFIX
from stage_process import measure

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
ENV = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
IMAGES_PER_PAGE = 8
FLAT_LIMIT = 1.5
DEDUPE_BYTES_PER_SAMPLE = 16.0
NEEDED = ("scrape", "download", "score")
"""Steps that run whenever a later one does (their output is its input)."""


@dataclass(frozen=True)
class Step:
    """One measured process: a stage of the runner with its section of the config."""

    name: str
    slug: str
    stage: str
    section: dict[str, Any]


@dataclass
class StepResult:
    """What one step cost at one size, and how many items it handled."""

    samples: int
    step: str
    wall_s: float
    stage_s: float
    cpu_s: float
    peak_tree_mb: float
    peak_process_mb: float
    items: int
    summary: str
    code: str


def steps(origin: str, pages: int, tiny_clip: Path | None) -> list[Step]:
    """The pipeline's steps for a web of `pages` pages served at `origin`."""
    sections = math.ceil(pages / 10)
    crawl = {
        "sources": [f"{origin}/index.html"],
        "rate": 10000.0,
        "max_depth": 2,
        "max_pages": pages + sections + 10,
        "allow_private_networks": True,
    }
    download = {
        "allow_private_networks": True,
        "timeout": 10.0,
        "retries": 1,
        "samples_per_shard": 2500,
        "threads": 32,
        "processes": 2,
    }
    shard = {"samples_per_shard": 5000}
    chosen = [
        Step("scrape (crawl)", "scrape", "scrape", crawl),
        Step("download", "download", "download", download),
        Step(
            "filter: score, no CLIP", "score", "filter", {"clip_model": "none", "score_only": True}
        ),
    ]
    if tiny_clip is not None:
        model = {"clip_model": f"local-dir:{tiny_clip}", "device": "cpu", "score_only": True}
        chosen.append(Step("filter: score, tiny CLIP", "score-tiny-clip", "filter", model))
    no_dedupe = {"decide_only": True, "no_dedupe": True}
    chosen += [
        Step("filter: decide (global dedupe)", "decide", "filter", {"decide_only": True}),
        Step("shard (the samples the dedupe kept)", "shard", "shard", shard),
        Step("filter: decide, --no-dedupe", "decide-no-dedupe", "filter", no_dedupe),
        Step("shard (every sample kept)", "shard-all", "shard", shard),
    ]
    return chosen


def tiny_clip(folder: Path) -> Path:
    """The tiny random model as a `local-dir:` folder, saved once by a child process (so this
    process never holds torch: a child's maxrss starts from its parent's at fork)."""
    if not (folder / "open_clip_config.json").is_file():
        subprocess.run([sys.executable, str(HERE / "tiny_clip.py"), str(folder)], check=True)
    return folder


def render_web(pages: int, args: argparse.Namespace) -> None:
    """Render the web's images into the cache, in a child process (for the same reason)."""
    command = [sys.executable, str(HERE / "scale_web.py"), "render", "--pages", str(pages)]
    command += ["--cache", str(args.workdir / "webs"), "--processes", str(args.render_processes)]
    subprocess.run(command, check=True, env=ENV)


def step_config(workdir: Path, all_steps: list[Step], step: Step) -> dict[str, Any]:
    """A full config (every stage's section, as the runner wants) with `step`'s own section
    for its stage."""
    sections = {"filter": {}}
    for other in all_steps:
        if other.stage != "filter":
            sections.setdefault(other.stage, other.section)
    sections[step.stage] = step.section
    return {"workdir": str(workdir), **sections}


def items_done(workspace: Path, step: Step) -> int:
    """How many items the step produced: pairs, raw rows, scored rows, decisions, samples."""
    if step.stage == "scrape":
        return sum(pq.ParquetFile(p).metadata.num_rows for p in workspace.glob("pairs/part-*"))
    if step.stage == "download" or step.slug.startswith("score"):
        return sum(json.loads(p.read_text())["count"] for p in workspace.glob("raw/*_stats.json"))
    if step.stage == "filter":
        return pq.ParquetFile(workspace / "decisions.parquet").metadata.num_rows
    return sum(json.loads((workspace / "shards" / "sizes.json").read_text()).values())


def step_digest(log: Path) -> str:
    """The digest of the sources the step imported, from the last line runner_step.py printed
    (figures of two sizes are compared only when they ran the same code)."""
    lines = [x for x in log.read_text(errors="replace").splitlines() if x.startswith(DIGEST_PREFIX)]
    return lines[-1].removeprefix(DIGEST_PREFIX) if lines else "unknown"


def run_step(workspace: Path, all_steps: list[Step], step: Step, samples: int) -> StepResult:
    """Run `step` through the runner in a fresh process (runner_step.py), measured."""
    config_path = workspace.parent / f"{workspace.name}-{step.slug}.yaml"
    config_path.write_text(yaml.safe_dump(step_config(workspace, all_steps, step)))
    command = [sys.executable, str(HERE / "runner_step.py"), str(config_path), step.stage]
    measured = measure(command, config_path.with_suffix(".log"), ENV)
    if measured.returncode != 0:
        tail = config_path.with_suffix(".log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"{step.name} at {samples:,} failed ({measured.returncode}):\n{tail}")
    record = json.loads((workspace / ".runner" / f"{step.stage}.json").read_text())
    return StepResult(
        samples=samples,
        step=step.name,
        wall_s=round(measured.wall_s, 2),
        stage_s=record["seconds"],
        cpu_s=round(measured.cpu_s, 2),
        peak_tree_mb=round(measured.peak_tree_mb, 1),
        peak_process_mb=round(measured.peak_process_mb, 1),
        items=items_done(workspace, step),
        summary=record["summary"],
        code=step_digest(config_path.with_suffix(".log")),
    )


def start_server(pages: int, cache: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """The cached test web served from its own process; the process and its origin."""
    command = [sys.executable, str(HERE / "scale_web.py"), "serve", "--pages", str(pages)]
    command += ["--cache", str(cache)]
    with open(log, "wb") as errors:
        server = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=errors, text=True, env=ENV
        )
    origin = server.stdout.readline().strip()
    if not origin.startswith("http://"):
        server.kill()
        raise SystemExit(f"the test web server did not start: see {log}")
    return server, origin


def run_size(samples: int, args: argparse.Namespace, tiny_clip: Path | None) -> list[StepResult]:
    """Every step at one size (or those named by --steps, with the steps before them that
    they need), in a fresh workspace; only the named ones are reported."""
    pages = samples // IMAGES_PER_PAGE
    started = time.perf_counter()
    render_web(pages, args)
    print(f"[{samples:,}] web ready in {time.perf_counter() - started:.0f} s", flush=True)
    workspace = args.workdir / f"n{samples}"
    shutil.rmtree(workspace, ignore_errors=True)
    server, origin = start_server(
        pages, args.workdir / "webs", args.workdir / f"server-{samples}.log"
    )
    results = []
    try:
        all_steps = steps(origin, pages, tiny_clip)
        for step in all_steps:
            if args.steps and step.slug not in args.steps and step.slug not in NEEDED:
                continue
            if step.stage == "filter" and server.poll() is None:
                server.terminate()
                server.wait()
            result = run_step(workspace, all_steps, step, samples)
            if args.steps and step.slug not in args.steps:
                continue
            print(
                f"[{samples:,}] {step.name:36} {result.wall_s:8.1f} s  peak "
                f"{result.peak_tree_mb:7.1f} MB tree, {result.peak_process_mb:7.1f} MB process; "
                f"{result.items:,} items",
                flush=True,
            )
            results.append(result)
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait()
    if not args.keep:
        shutil.rmtree(workspace, ignore_errors=True)
    return results


def bounds(results: list[dict[str, Any]], low: int, high: int) -> list[dict[str, Any]]:
    """Per step, the memory bound from `low` to `high` samples and whether it holds, with the
    growth per sample either way (a flat ratio can hide a slope under a large constant)."""
    at = {(r["samples"], r["step"]): r for r in results}
    checks = []
    for step in dict.fromkeys(r["step"] for r in results):
        a, b = at.get((low, step)), at.get((high, step))
        if a is None or b is None:
            continue
        per_sample = (
            (b["peak_tree_mb"] - a["peak_tree_mb"]) * 2**20 / max(1, b["items"] - a["items"])
        )
        decide = "decide" in step
        value = per_sample if decide else b["peak_tree_mb"] / a["peak_tree_mb"]
        limit = DEDUPE_BYTES_PER_SAMPLE if decide else FLAT_LIMIT
        checks.append(
            {
                "step": step,
                "from": low,
                "to": high,
                "kind": "bytes per sample" if decide else "peak ratio",
                "value": round(value, 1 if decide else 2),
                "limit": limit,
                "holds": value <= limit,
                "bytes_per_item": round(per_sample, 1),
                "same_code": a.get("code") == b.get("code"),
            }
        )
    return checks


def plot(results: list[dict[str, Any]], path: Path) -> None:
    """Log-log time and peak memory against samples, one line per step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for step in dict.fromkeys(r["step"] for r in results):
        rows = sorted((r for r in results if r["step"] == step), key=lambda r: r["samples"])
        sizes = [r["samples"] for r in rows]
        left.plot(sizes, [r["wall_s"] for r in rows], marker="o", label=step)
        right.plot(sizes, [r["peak_tree_mb"] for r in rows], marker="o", label=step)
    smallest = min(r["samples"] for r in results)
    largest = max(r["samples"] for r in results)
    start = min(r["wall_s"] for r in results if r["samples"] == smallest)
    left.plot(
        [smallest, largest],
        [start, start * largest / smallest],
        linestyle=":",
        color="black",
        label="linear in samples",
    )
    for axis, label in ((left, "wall clock, s"), (right, "peak RSS of the process tree, MB")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("samples (test web images)")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=7)
    figure.suptitle("wit-pipeline scale study: each stage in its own process")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


def merge(path: Path, results: list[StepResult], command: str) -> list[dict[str, Any]]:
    """Earlier results in `path` for other sizes or steps, plus these (each with its
    command)."""
    earlier = json.loads(path.read_text())["results"] if path.is_file() else []
    merged = {(r["samples"], r["step"]): r for r in earlier}
    merged.update({(r.samples, r.step): asdict(r) | {"command": command} for r in results})
    return sorted(merged.values(), key=lambda r: r["samples"])


def main(argv: list[str] | None = None) -> int:
    """Run the sizes, merge into the JSON, check the bounds, draw the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--workdir", type=Path, default=Path("wit-data/scale"))
    parser.add_argument("--json", type=Path, default=HERE / "results" / "scale.json")
    parser.add_argument("--figure", type=Path, default=HERE / "figures" / "scale.png")
    parser.add_argument("--no-tiny-clip", action="store_true", help="skip the tiny-CLIP score")
    parser.add_argument("--render-processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", action="store_true", help="keep each size's workspace")
    parser.add_argument(
        "--steps", nargs="+", metavar="SLUG", help="measure only these steps (e.g. decide)"
    )
    args = parser.parse_args(argv)
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    machine = machine_summary()
    print(f"machine: {machine}", flush=True)
    tiny = None if args.no_tiny_clip else tiny_clip(args.workdir / "tiny_clip")
    results = []
    for samples in args.sizes:
        results += run_size(samples, args, tiny)
    command = " ".join(["python benchmarks/scale_study.py", *(argv or sys.argv[1:])])
    merged = merge(args.json, results, command)
    sizes = sorted({r["samples"] for r in merged})
    checks = bounds(merged, 10_000, 100_000) if {10_000, 100_000} <= set(sizes) else []
    report = {
        "machine": machine,
        "code": code_version(),
        "date": time.strftime("%Y-%m-%d"),
        "crawl": "scrape crawls the served test web over HTTP (one process, rate 10000/s)",
        "results": merged,
        "bounds": checks,
        "figure": os.path.relpath(args.figure, HERE.parent),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    plot(merged, args.figure)
    for check in checks:
        verdict = "holds" if check["holds"] else "BROKEN"
        limit = f"(limit {check['limit']})"
        print(f"{check['step']:36} {check['kind']} {check['value']} {limit}: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

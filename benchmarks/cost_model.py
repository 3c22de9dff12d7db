"""Cost model: what 100M and 1B pairs would take, projected from this machine's measured
per-stage costs (benchmarks/results/*.json): nodes, hours, GPU hours, object-store requests,
bytes stored and egress, with every assumption printed beside the table.

    python benchmarks/cost_model.py [--pairs 1e8 1e9] [--hours 24] [--cores-per-node 16]
        [--json benchmarks/results/cost_model.json]

Measured (each line of the output names its file): CPU seconds per item of scrape, filter's
score phase without CLIP, the global dedupe and shard at the scale study's largest size
(scale.json); download CPU per image (download.json, the clean set); CLIP images/s of one GPU
(gpu_score.json); bytes per sample of the written shards (scale.json's shard summary).
Assumed (flags): the share of URLs that download, the share of samples kept, the size of a
source image on the web, the node's cores and network, the store's part and block sizes and
list prices. Scaling is linear per item for every stage but the global dedupe, which runs on
one node (its hours and index memory are printed apart). A projection, not a measurement:
synthetic test-web images are smaller than real photographs, so bytes are a floor.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
MIB = 2**20


@dataclass(frozen=True)
class Measured:
    """Per-item costs read from the results files, with where each came from."""

    scrape_cpu_s: float
    download_cpu_s: float
    score_cpu_s: float
    gpu_images_per_s: float
    dedupe_cpu_s: float
    shard_cpu_s: float
    bytes_per_sample: float
    sources: dict[str, str]


@dataclass(frozen=True)
class Assumptions:
    """What the measurements cannot say about a real crawl and a real cluster."""

    download_success: float = 0.7
    kept_share: float = 0.4
    source_image_kb: float = 150.0
    cores_per_node: int = 16
    node_gbps: float = 1.0
    utilisation: float = 0.7
    samples_per_raw_shard: int = 10_000
    samples_per_shard: int = 10_000
    part_mib: int = 50
    egress_share: float = 1.0
    put_usd_per_1000: float = 0.005
    get_usd_per_1000: float = 0.0004
    egress_usd_per_gb: float = 0.09
    dedupe_bytes_per_sample: float = 64.0
    table_bytes_per_row: float = 200.0

    def lines(self) -> list[str]:
        """One printed line per assumption."""
        return [
            f"downloads succeed for {self.download_success:.0%} of URLs (web dependent)",
            f"filter keeps {self.kept_share:.0%} of downloaded samples (CLIP threshold, dedupe)",
            f"a source image on the web is {self.source_image_kb:.0f} KB (fetched, then resized)",
            f"a node: {self.cores_per_node} cores, {self.node_gbps:g} Gbit/s, "
            f"{self.utilisation:.0%} of it used",
            f"raw shards of {self.samples_per_raw_shard:,} rows, output shards of "
            f"{self.samples_per_shard:,} samples (the defaults)",
            f"object store: uploads in {self.part_mib} MiB parts, reads in {self.part_mib} MiB "
            "ranged GETs (s3fs defaults); one PUT per marker, parquet and JSON file",
            f"{self.egress_share:.0%} of the shards leave the store's region once (training "
            "elsewhere); traffic between workers and the store stays in the region",
            f"list prices: PUT ${self.put_usd_per_1000}/1000, GET ${self.get_usd_per_1000}/1000, "
            f"egress ${self.egress_usd_per_gb}/GB (S3 standard, us-east-1)",
            f"the global dedupe holds {self.dedupe_bytes_per_sample:.0f} bytes per sample in "
            "memory on one node (hashes of every view, keys, index)",
            f"a row of pairs, scores or decisions takes {self.table_bytes_per_row:.0f} bytes",
            "stages run one after another, each on nodes enough to end within --hours",
        ]


def _load(name: str) -> Any:
    path = RESULTS / name
    if not path.is_file():
        raise SystemExit(f"cost_model: {path}: missing; run the benchmark that writes it first")
    return json.loads(path.read_text())


def _row(rows: list[dict], **match: str) -> dict:
    """The first result row whose fields start with the given values."""
    for row in rows:
        if all(str(row.get(k, "")).startswith(v) for k, v in match.items()):
            return row
    raise SystemExit(f"cost_model: no result row with {match}")


def measured() -> Measured:
    """Per-item costs from the results files (largest size of the scale study)."""
    scale = _load("scale.json")
    largest = max(r["samples"] for r in scale["results"])
    steps = {r["step"]: r for r in scale["results"] if r["samples"] == largest}

    def per_item(step: str) -> float:
        return steps[step]["cpu_s"] / steps[step]["items"]

    shard = steps["shard (every sample kept)"]
    shard_mb = float(re.search(r"([\d.]+) MB", shard["summary"]).group(1))
    download = _row(_load("download.json"), metric="clean set, 2,000 URLs: CPU per image")
    gpu = _row(_load("gpu_score.json"), stage="filter")
    at = f"scale.json at {largest:,} samples"
    return Measured(
        scrape_cpu_s=per_item("scrape (crawl)"),
        download_cpu_s=download["ours"] / 1000,
        score_cpu_s=per_item("filter: score, no CLIP"),
        gpu_images_per_s=gpu["ours"],
        dedupe_cpu_s=per_item("filter: decide (global dedupe)"),
        shard_cpu_s=per_item("shard (every sample kept)"),
        bytes_per_sample=shard_mb * 1e6 / shard["items"],
        sources={
            "scrape": f"{at}, scrape (crawl) cpu_s / pairs",
            "download": f"download.json: {download['metric']} ({download['machine']})",
            "score": f"{at}, filter: score, no CLIP cpu_s / samples",
            "clip": f"gpu_score.json: {gpu['metric']} ({gpu['machine']})",
            "dedupe": f"{at}, filter: decide (global dedupe) cpu_s / samples",
            "shard": f"{at}, shard (every sample kept) cpu_s / samples",
            "bytes": f"{at}, shard (every sample kept): MB written / samples",
        },
    )


def _puts(size: float, part: float) -> int:
    """Requests to upload one object of `size` bytes (multipart above one part)."""
    return 1 if size <= part else math.ceil(size / part) + 2


def _gets(size: float, block: float) -> int:
    """Ranged GETs to read one object of `size` bytes from start to end."""
    return max(1, math.ceil(size / block))


@dataclass(frozen=True)
class Stage:
    """One stage's projected cost at one scale."""

    stage: str
    cpu_core_hours: float
    gpu_hours: float
    nodes: int
    wall_hours: float
    gets: int
    puts: int
    bytes_written: float


def project(pairs: float, hours: float, m: Measured, a: Assumptions) -> dict[str, Any]:
    """Every stage's cost for `pairs` input pairs finished within `hours`, and the totals."""
    part = a.part_mib * MIB
    samples = pairs * a.download_success
    kept = samples * a.kept_share
    raw_shards = math.ceil(pairs / a.samples_per_raw_shard)
    raw_tar = a.samples_per_raw_shard * a.download_success * m.bytes_per_sample
    shards = math.ceil(kept / a.samples_per_shard)
    shard_tar = a.samples_per_shard * m.bytes_per_sample
    web_bytes = samples * a.source_image_kb * 1e3
    web_node_hours = web_bytes * 8 / (a.node_gbps * 1e9 * a.utilisation * 3600)
    row = a.table_bytes_per_row
    stages = [
        Stage("scrape", pairs * m.scrape_cpu_s / 3600, 0, 0, 0, 0, 0, pairs * row),
        Stage(
            "download",
            pairs * m.download_cpu_s / 3600,
            0,
            0,
            0,
            0,
            raw_shards * (_puts(raw_tar, part) + 3),  # tar, parquet, stats JSON, marker
            samples * m.bytes_per_sample,
        ),
        Stage(
            "filter: score",
            samples * m.score_cpu_s / 3600,
            samples / m.gpu_images_per_s / 3600,
            0,
            0,
            raw_shards * (_gets(raw_tar, part) + 1),  # the tar read through, its parquet
            raw_shards * 2,  # scores parquet, marker
            samples * row,
        ),
        Stage(
            "filter: decide", samples * m.dedupe_cpu_s / 3600, 0, 0, 0, raw_shards, 2, samples * row
        ),
        Stage(
            "shard",
            kept * m.shard_cpu_s / 3600,
            0,
            0,
            0,
            raw_shards * _gets(raw_tar, part),  # kept samples read in raw order
            shards * (_puts(shard_tar, part) + 1) + 4,  # tar and marker; sizes, manifest, index
            kept * m.bytes_per_sample,
        ),
    ]
    sized = []
    for s in stages:
        node_hours = max(
            s.cpu_core_hours / (a.cores_per_node * a.utilisation),
            s.gpu_hours / a.utilisation,  # one GPU per node
            web_node_hours if s.stage == "download" else 0.0,
        )
        if s.stage == "filter: decide":  # the global dedupe: one process on one node
            nodes, wall = 1, s.cpu_core_hours
        else:
            nodes = max(1, math.ceil(node_hours / hours))
            wall = node_hours / nodes
        sized.append(Stage(**{**asdict(s), "nodes": nodes, "wall_hours": wall}))
    egress = kept * m.bytes_per_sample * a.egress_share
    gets = sum(s.gets for s in sized)
    puts = sum(s.puts for s in sized)
    return {
        "pairs": pairs,
        "hours": hours,
        "samples": samples,
        "kept": kept,
        "stages": [asdict(s) for s in sized],
        "web_bytes": web_bytes,
        "stored_bytes": sum(s.bytes_written for s in sized),
        "egress_bytes": egress,
        "gets": gets,
        "puts": puts,
        "node_hours": sum(s.nodes * s.wall_hours for s in sized),
        "wall_hours": sum(s.wall_hours for s in sized),
        "dedupe_memory_gb": samples * a.dedupe_bytes_per_sample / 1e9,
        "usd": {
            "requests": puts / 1000 * a.put_usd_per_1000 + gets / 1000 * a.get_usd_per_1000,
            "egress": egress / 1e9 * a.egress_usd_per_gb,
        },
    }


def _size(value: float) -> str:
    for unit, scale in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if value >= scale:
            return f"{value / scale:,.1f} {unit}"
    return f"{value:,.0f} B"


def table(result: dict[str, Any]) -> list[str]:
    """One scale's projection as a Markdown table and its totals."""
    lines = [
        f"### {result['pairs']:,.0f} pairs, at most {result['hours']:g} h a stage "
        f"({result['samples']:,.0f} downloaded, {result['kept']:,.0f} kept)",
        "",
        "| stage | CPU core-h | GPU-h | nodes | hours | GET | PUT | written |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in result["stages"]:
        lines.append(
            f"| {s['stage']} | {s['cpu_core_hours']:,.0f} | {s['gpu_hours']:,.1f} | "
            f"{s['nodes']:,} | {s['wall_hours']:,.1f} | {s['gets']:,} | {s['puts']:,} | "
            f"{_size(s['bytes_written'])} |"
        )
    usd = result["usd"]
    lines += [
        "",
        f"- {result['wall_hours']:,.1f} h from first stage to last, "
        f"{result['node_hours']:,.0f} node-hours",
        f"- fetched from the web: {_size(result['web_bytes'])}; stored: "
        f"{_size(result['stored_bytes'])}; egress: {_size(result['egress_bytes'])}",
        f"- object-store requests: {result['gets']:,} GET, {result['puts']:,} PUT "
        f"(${usd['requests']:,.0f}); egress ${usd['egress']:,.0f}",
        f"- the global dedupe runs on one node: {result['dedupe_memory_gb']:,.0f} GB of index",
        "",
    ]
    return lines


def main() -> None:
    """Print the measured inputs, the assumptions and one table per scale."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=float, nargs="+", default=[1e8, 1e9])
    parser.add_argument("--hours", type=float, default=24.0, help="wall-clock target per stage")
    defaults = Assumptions()
    for name, value in asdict(defaults).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    parser.add_argument("--json", type=Path, help="also write the projections here")
    args = parser.parse_args()
    assumptions = Assumptions(**{k: getattr(args, k) for k in asdict(defaults)})
    m = measured()
    print("Measured on this machine (per item):")
    for key, value in (
        ("scrape", f"{m.scrape_cpu_s * 1e3:.3f} CPU ms per pair"),
        ("download", f"{m.download_cpu_s * 1e3:.2f} CPU ms per URL"),
        ("score", f"{m.score_cpu_s * 1e3:.3f} CPU ms per sample (decode, hashes, no CLIP)"),
        ("clip", f"{m.gpu_images_per_s:,.0f} images/s per GPU"),
        ("dedupe", f"{m.dedupe_cpu_s * 1e6:.1f} CPU us per sample"),
        ("shard", f"{m.shard_cpu_s * 1e3:.3f} CPU ms per kept sample"),
        ("bytes", f"{m.bytes_per_sample / 1e3:.1f} KB per sample (synthetic images: a floor)"),
    ):
        print(f"- {key}: {value} [{m.sources[key]}]")
    print("\nAssumed:")
    for line in assumptions.lines():
        print(f"- {line}")
    print()
    results = [project(pairs, args.hours, m, assumptions) for pairs in args.pairs]
    for result in results:
        print("\n".join(table(result)))
    if args.json:
        args.json.write_text(
            json.dumps(
                {"measured": asdict(m), "assumptions": asdict(assumptions), "results": results},
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()

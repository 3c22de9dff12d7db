"""The demo: build a dataset from a noisy synthetic web and show that filtering pays.

As CLIP was trained on curated pairs and LAION was then filtered with it, the demo trains a
bootstrap scorer on a small clean web, scores a noisy, long-tailed web (40% mismatched captions,
duplicates, faults, shapes and colours Zipf-distributed) with it, and trains the same small
model at equal steps on five versions of the noisy data: no filter, basic rules, CLIP score,
CLIP score + dedupe, and that plus MetaCLIP balancing over the shape and colour vocabulary.
Zero-shot top-1 is reported overall and on the head and tail concepts apart. Every pipeline step
goes through the runner; only training and evaluation call train_small directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from wit_pipeline.config import config_from_dict
from wit_pipeline.core.atomic import write_bytes_atomic, write_json_atomic
from wit_pipeline.runner import StageOutcome, run_pipeline
from wit_pipeline.testweb import SyntheticWeb, WebConfig, WebServer
from wit_pipeline.testweb.vocab import COLOURS, SHAPES

RUNS = ("no_filter", "basic", "clip_score", "clip_score_dedupe", "balanced")
"""The training runs of the table, from no curation to the full filter plus balancing."""
CLIP_RUNS = ("clip_score", "clip_score_dedupe", "balanced")
"""The runs that keep the top share by the bootstrap scorer's CLIP score."""
LABELS = {"shape": SHAPES, "color": tuple(COLOURS)}
"""The concepts of each zero-shot task, most frequent first in a long-tailed pool."""
WARMUP_PERCENT = 15
"""Warmup share of every run's steps: linear warmup, then cosine decay (a one-cycle schedule)."""


@dataclass(frozen=True)
class DemoOptions:
    """Sizes, budgets and training recipe of the demo; the defaults are sized for 10 minutes on
    2 cores (README, "The demo")."""

    pool_pages: int = 300
    seed_pages: int = 60
    mismatch_share: float = 0.4
    eval_samples: int = 600
    bootstrap_steps: int = 80
    steps: int = 80
    batch_size: int = 128
    keep_fraction: float = 0.55
    concept_skew: float = 1.0
    balance_cap: int = 60
    workers: int = 1
    image_tower: str = "vit"
    image_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.1
    progress: bool = True

    def scaled(self, factor: float) -> DemoOptions:
        """These options with `factor` times the pages of both webs and the steps of every run
        (the bigger version of the demo: more distinct pictures, longer training)."""

        def times(value: int) -> int:
            return max(1, round(value * factor))

        return replace(
            self,
            pool_pages=times(self.pool_pages),
            seed_pages=times(self.seed_pages),
            bootstrap_steps=times(self.bootstrap_steps),
            steps=times(self.steps),
            balance_cap=times(self.balance_cap),
        )


_BASIC = {"min_image_size": 32, "max_aspect_ratio": 3.0, "min_caption_words": 2, "lang": "en"}
FILTERS: dict[str, dict[str, Any]] = {
    "no_filter": {"max_aspect_ratio": 1000.0, "no_dedupe": True},
    "basic": {**_BASIC, "no_dedupe": True},
    "clip_score": {**_BASIC, "no_dedupe": True},
    "clip_score_dedupe": {**_BASIC},
    "balanced": {**_BASIC},
}
"""Decide-phase options of each run; the CLIP runs add the demo's keep fraction, the balanced
run the entry list and cap."""


def head_concepts(names: tuple[str, ...], skew: float) -> tuple[str, ...]:
    """The most frequent concepts that together make at least half of the draws of a pool
    whose concept of rank r is drawn in proportion to 1 / r**skew (`WebConfig.concept_skew`);
    the others are the tail."""
    weights = [1.0 / rank**skew for rank in range(1, len(names) + 1)]
    total, running = sum(weights), 0.0
    for count, weight in enumerate(weights, 1):
        running += weight
        if running >= total / 2:
            return names[:count]
    return names


def _download_options(samples_per_shard: int) -> dict[str, Any]:
    return {
        "allow_private_networks": True,
        "timeout": 2.0,
        "retries": 1,
        "samples_per_shard": samples_per_shard,
        "threads": 32,
        "processes": min(2, os.cpu_count() or 1),
    }


def _crawl(server: WebServer) -> dict[str, Any]:
    return {
        "sources": [f"{server.base_url}index.html"],
        "rate": 500.0,
        "max_depth": 3,
        "allow_private_networks": True,
    }


def _pool_web(options: DemoOptions) -> WebConfig:
    """The noisy pool: mismatched captions, duplicates, every fault kind, long-tailed concepts."""
    return WebConfig(
        seed=0,
        pages=options.pool_pages,
        mismatch_share=options.mismatch_share,
        concept_skew=options.concept_skew,
        slow_seconds=1.0,
        drip_interval=0.5,
        drip_seconds=4.0,
        huge_bytes=32 * 2**20,
    )


def _seed_web(options: DemoOptions) -> WebConfig:
    """The small clean web of the seed set: true captions, no duplicates, no faults."""
    return WebConfig(
        seed=1,
        pages=options.seed_pages,
        foreign_share=0.0,
        mismatch_share=0.0,
        exact_dup_share=0.0,
        near_dup_share=0.0,
        too_small_share=0.0,
        extreme_aspect_share=0.0,
        boilerplate_share=0.0,
        faults_per_kind=0,
    )


class Demo:
    """One demo run in workspace `root`, printing progress through `say`."""

    def __init__(self, root: Path, options: DemoOptions, say: Callable[[str], Any]) -> None:
        self.root, self.options, self.say = root, options, say
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        yield
        self.timings[name] = round(time.monotonic() - start, 1)
        self.say(f"[{name}] done in {self.timings[name]:.1f} s")

    def _pipeline(self, name: str, data: dict[str, Any], force: bool = False) -> list[StageOutcome]:
        config = config_from_dict(data, f"demo:{name}")
        return run_pipeline(
            config,
            force=force,
            quiet=not self.options.progress,
            on_outcome=lambda o: self.say(f"  {o.describe()}"),
        )

    def _train(self, shards: Path, out_dir: Path, steps: int):
        from train_small import TrainConfig, train

        result = train(
            TrainConfig(
                shards=str(shards),
                out_dir=out_dir,
                steps=steps,
                batch_size=self.options.batch_size,
                lr=self.options.lr,
                warmup_steps=max(1, steps * WARMUP_PERCENT // 100),
                weight_decay=self.options.weight_decay,
                image_tower=self.options.image_tower,
                image_size=self.options.image_size,
                workers=self.options.workers,
                progress=self.options.progress,
            )
        )
        self.say(f"  train: {result.line()}")
        return result

    @property
    def eval_dir(self) -> Path:
        """The held-out labelled shards every run is evaluated on."""
        return self.root / "eval"

    @property
    def entries_path(self) -> Path:
        """The metadata entry list of the balanced run: every shape and colour name."""
        return self.root / "entries.txt"

    def prepare(self) -> dict[str, Path]:
        """Every phase before the final training runs: eval set, seed set, bootstrap scorer, pool
        and each run's filtering. Returns the workspace of each run (its shards in `shards/`)."""
        from train_small import export_local_dir
        from wit_pipeline.testweb.evalset import write_labelled_shards

        options, root = self.options, self.root
        with self._phase("eval set"):
            if not (self.eval_dir / "sizes.json").is_file():
                write_labelled_shards(self.eval_dir, options.eval_samples, seed=2)
            if not self.entries_path.is_file():
                write_bytes_atomic(
                    self.entries_path, "\n".join((*SHAPES, *COLOURS)).encode() + b"\n"
                )
        seed_port, pool_port = self._ports()
        with (
            WebServer(SyntheticWeb(_seed_web(options)), port=seed_port) as seed_server,
            WebServer(SyntheticWeb(_pool_web(options)), port=pool_port) as pool_server,
        ):
            write_json_atomic(
                root / "webs.json", {"seed": seed_server.port, "pool": pool_server.port}
            )
            self.say(
                f"test webs: clean seed at {seed_server.base_url}, noisy pool at "
                f"{pool_server.base_url} ({options.mismatch_share:.0%} mismatched captions)"
            )
            with self._phase("seed set"):
                self._pipeline(
                    "seed",
                    {
                        "workdir": str(root / "seed"),
                        "scrape": _crawl(seed_server),
                        "download": _download_options(500),
                        "filter": {"clip_model": "none", **_BASIC},
                        "shard": {"samples_per_shard": 256},
                    },
                )
            with self._phase("bootstrap scorer"):
                boot = self._train(
                    root / "seed" / "shards", root / "seed" / "train", options.bootstrap_steps
                )
                scorer = root / "seed" / "model"
                if not (scorer / "open_clip_config.json").is_file():
                    export_local_dir(boot.checkpoint, scorer)
            clip = {"clip_model": f"local-dir:{scorer}", "keep_fraction": options.keep_fraction}
            with self._phase("pool"):
                self._pipeline(
                    "pool",
                    {
                        "workdir": str(root),
                        "scrape": _crawl(pool_server),
                        "download": _download_options(1000),
                        "filter": {
                            **FILTERS["clip_score_dedupe"],
                            **clip,
                            "entries": str(self.entries_path),
                        },
                        "shard": {"samples_per_shard": 256},
                    },
                )
        with self._phase("filters"):
            return {
                name: root if name == "clip_score_dedupe" else self._variant(name, clip)
                for name in RUNS
            }

    def run(self) -> dict[str, Any]:
        """Every phase in order; returns what `W/demo.json` holds."""
        from train_small import evaluate

        options, root = self.options, self.root
        runs = []
        for name, workdir in self.prepare().items():
            with self._phase(f"run {name}"):
                result = self._train(workdir / "shards", workdir / "train", options.steps)
                metrics = evaluate(result.checkpoint, str(self.eval_dir))
                sizes = json.loads((workdir / "shards" / "sizes.json").read_text())
                runs.append(
                    {
                        "name": name,
                        "samples": sum(sizes.values()),
                        "zero_shot_shape_top1": metrics["zero_shot_shape_top1"],
                        "zero_shot_color_top1": metrics["zero_shot_colour_top1"],
                        **self._head_and_tail(metrics),
                        "i2t_r1": metrics["i2t_r1"],
                        "t2i_r1": metrics.get("t2i_r1"),
                        "linear_probe_shape_top1": metrics.get("linear_probe_shape_top1"),
                        "train_seconds": round(result.seconds, 1),
                        "train_samples_per_second": round(result.samples_per_second, 1),
                    }
                )
        summary = {
            "runs": runs,
            "steps": options.steps,
            "batch_size": options.batch_size,
            "options": asdict(options),
            "timings": self.timings,
            "seconds": round(sum(self.timings.values()), 1),
        }
        write_json_atomic(root / "demo.json", summary)
        with self._phase("report"):
            skip = dict.fromkeys(("scrape", "download", "filter", "shard"), False)
            self._pipeline("report", {"workdir": str(root), **skip, "report": {}}, force=True)
        return summary

    def _head_and_tail(self, metrics: dict[str, Any]) -> dict[str, float]:
        """Zero-shot top-1 of each task over the eval images of its head concepts and over those
        of its tail concepts (`head_concepts`)."""
        apart = {}
        for task, names in LABELS.items():
            key = "colour" if task == "color" else task
            per_class, counts = (
                metrics[f"zero_shot_{key}_per_class"],
                metrics[f"{key}_class_samples"],
            )
            head = head_concepts(names, self.options.concept_skew)
            for part, members in (("head", head), ("tail", names[len(head) :])):
                seen = [name for name in members if counts.get(name)]
                correct = sum(per_class[name] * counts[name] for name in seen)
                total = sum(counts[name] for name in seen)
                apart[f"zero_shot_{task}_{part}_top1"] = correct / total if total else 0.0
        return apart

    def _ports(self) -> tuple[int, int]:
        """The ports of an earlier run in this workspace, so its URLs (and every stage built
        on them) stay valid and a rerun resumes; (0, 0) picks free ports the first time."""
        path = self.root / "webs.json"
        if not path.is_file():
            return 0, 0
        ports = json.loads(path.read_text())
        return int(ports["seed"]), int(ports["pool"])

    def _variant(self, name: str, clip: dict[str, Any]) -> Path:
        """A workspace of its own for one run, sharing the pool's raw shards and scores."""
        workdir = self.root / "runs" / name
        workdir.mkdir(parents=True, exist_ok=True)
        for folder in ("raw", "scores"):
            link = workdir / folder
            if not link.is_symlink():
                link.symlink_to(Path("..", "..", folder), target_is_directory=True)
        decide = {**FILTERS[name], "decide_only": True}
        if name in CLIP_RUNS:
            decide.update(keep_fraction=clip["keep_fraction"])
        if name == "balanced":
            decide.update(entries=str(self.entries_path), balance_cap=self.options.balance_cap)
        self._pipeline(
            name,
            {
                "workdir": str(workdir),
                "scrape": False,
                "download": False,
                "filter": decide,
                "shard": {"samples_per_shard": 256},
            },
        )
        return workdir


def format_table(summary: dict[str, Any]) -> str:
    """The DataComp-style table: one row per run, each zero-shot task overall and on its head
    and tail concepts."""
    lines = [
        f"{'run':<18} {'samples':>7}  {'shape (head / tail)':>21}  "
        f"{'colour (head / tail)':>21}  {'i2t R@1':>7}",
    ]
    for run in summary["runs"]:
        tasks = [
            f"{run[f'zero_shot_{task}_top1']:.3f} ({run[f'zero_shot_{task}_head_top1']:.3f} / "
            f"{run[f'zero_shot_{task}_tail_top1']:.3f})"
            for task in LABELS
        ]
        lines.append(
            f"{run['name']:<18} {run['samples']:>7,}  {tasks[0]:>21}  {tasks[1]:>21}  "
            f"{run['i2t_r1']:>7.3f}"
        )
    options = summary["options"]
    lines.append(
        f"(each run {summary['steps']} steps of {summary['batch_size']}; chance: shape 0.10, "
        f"colour 1/11; head: the concepts of half the pool at skew {options['concept_skew']}; "
        f"balanced: at most {options['balance_cap']} per entry; demo took "
        f"{summary['seconds']:.0f} s)"
    )
    return "\n".join(lines)

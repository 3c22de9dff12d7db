"""Throughput of the filter stage's score phase against its two anchors, in one run.

CLIP: our score phase (DataLoader decode + preprocess + pHash + caption facts + ViT-B-32 with
random weights, batched) against bare open_clip on the same images pre-decoded and preprocessed
into tensors in memory: only `encode_image` + `encode_text(tokenizer(captions))` + normalise +
cosine at the same batch size under `torch.inference_mode`. Target: ours >= 0.9x the anchor.

No CLIP: our score phase with `clip=None` (decode + size + pHash + caption language) against a
plain decode of the same shards (read the tar members, `Image.open(...).convert("RGB")`, nothing
else). Target: ours >= 0.7x the anchor.

Two raw/ folders (one shard each) are built once with the real download stage against the
synthetic test web (or, with `--synthetic`, drawn by gpu_score_bench's writer: no img2dataset or
server needed): `--images` for the CLIP pair (ViT-B-32 on CPU is slow), `--decode-images` for
the no-CLIP pair. Runs alternate (ours, anchor, ours, anchor, ...); model loading and a warm-up
batch are excluded from both sides; every run of ours writes into an empty scores/ folder. The
verdict uses each side's best run (on a shared machine, noise only ever slows a run down); the
median is shown beside it.

    python benchmarks/score_bench.py [--images 128] [--decode-images 2048] [--batch-size 32]
        [--workers 2] [--repeats 3] [--decode-repeats 5] [--synthetic] [--json PATH]
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import torch
from machine import describe_machine
from PIL import Image

from wit_pipeline.core.tar import IMAGE_EXTENSIONS
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.scoring.clip import ClipSpec
from wit_pipeline.stages.filter import ScoreOptions, filter_stage
from wit_pipeline.stages.filter.score import scorer_for

MODEL = "ViT-B-32"
SPEC = ClipSpec(MODEL, "random")


@dataclass
class Timing:
    """Images per second of every repeat of one side of a comparison."""

    name: str
    images: int
    seconds: list[float]

    @property
    def rates(self) -> list[float]:
        """Throughput of each repeat, images per second."""
        return [self.images / s for s in self.seconds]

    @property
    def median(self) -> float:
        """Median throughput, images per second."""
        return statistics.median(self.rates)

    @property
    def best(self) -> float:
        """Best throughput, images per second."""
        return max(self.rates)


def build_raw(images: int, workdir: Path, name: str, synthetic: bool) -> Workspace:
    """A workspace under `workdir/name` whose raw/ holds `images` images in one shard: the test
    web's, downloaded by the download stage, or (`synthetic`) drawn and written directly, which
    needs neither img2dataset nor a server (for machines that have only torch)."""
    if synthetic:
        from gpu_score_bench import write_raw

        return write_raw(workdir / name / "w", images, images, 1)
    from testweb_workspace import download_testweb

    from wit_pipeline.testweb import SyntheticWeb, WebConfig

    web = SyntheticWeb(WebConfig(seed=0, pages=images // 6 + 2, faults_per_kind=0))
    workspace, _ = download_testweb(
        web, workdir / name, limit=images, with_gif=False, samples_per_shard=images
    )
    return workspace


def raw_paths(workspace: Workspace) -> list[tuple[Path, Path]]:
    """(parquet, tar) of every raw shard."""
    return [(p, p.with_suffix(".tar")) for p in sorted(workspace.raw_dir.glob("[0-9]*.parquet"))]


def tar_images(path: Path) -> dict[str, bytes]:
    """Image bytes by key, read from a raw tar as plainly as possible."""
    images = {}
    with tarfile.open(path) as archive:
        for member in archive:
            key, _, ext = member.name.partition(".")
            if ext.lower() in IMAGE_EXTENSIONS:
                images[key] = archive.extractfile(member).read()
    return images


def count_images(workspace: Workspace) -> int:
    """How many images the raw tars of `workspace` hold."""
    return sum(len(tar_images(tar)) for _, tar in raw_paths(workspace))


def decode_only(workspace: Workspace) -> None:
    """The no-CLIP anchor: read every tar and decode every image to RGB, nothing else."""
    for _, tar in raw_paths(workspace):
        for data in tar_images(tar).values():
            with Image.open(io.BytesIO(data)) as opened:
                opened.convert("RGB")


def predecoded_batches(
    workspace: Workspace, preprocess: Callable, batch_size: int
) -> list[tuple[torch.Tensor, list[str]]]:
    """The CLIP anchor's input: (stacked preprocessed images, captions) per batch, in memory."""
    tensors, captions = [], []
    for parquet, tar in raw_paths(workspace):
        images = tar_images(tar)
        for sample in pq.read_table(parquet).to_pylist():
            if sample["status"] == "success" and sample["key"] in images:
                with Image.open(io.BytesIO(images[sample["key"]])) as opened:
                    tensors.append(preprocess(opened.convert("RGB")))
                captions.append(sample["caption"] or "")
    return [
        (torch.stack(tensors[i : i + batch_size]), captions[i : i + batch_size])
        for i in range(0, len(tensors), batch_size)
    ]


def bare_clip(model: Any, tokenizer: Callable, batches: list) -> None:
    """The CLIP anchor: encode, normalise and compare the pre-decoded batches."""
    with torch.inference_mode():
        for images, captions in batches:
            image = torch.nn.functional.normalize(model.encode_image(images), dim=-1)
            text = torch.nn.functional.normalize(model.encode_text(tokenizer(captions)), dim=-1)
            (image * text).sum(dim=-1).numpy()


def our_score(workspace: Workspace, options: ScoreOptions) -> None:
    """Our score phase over `workspace` into an empty scores/ folder."""
    shutil.rmtree(workspace.scores_dir, ignore_errors=True)
    filter_stage(workspace, options, None)


def alternate(sides: list[tuple[Timing, Callable[[], None]]], repeats: int) -> None:
    """Run the sides in turn `repeats` times, appending each run's seconds to its Timing."""
    for round_ in range(repeats):
        for timing, run in sides:
            start = time.perf_counter()
            run()
            timing.seconds.append(time.perf_counter() - start)
            print(
                f"  round {round_ + 1}: {timing.name:<28} {timing.rates[-1]:8.1f} img/s",
                flush=True,
            )


def clip_pair(workspace: Workspace, args: argparse.Namespace) -> tuple[Timing, Timing]:
    """Our CLIP scoring against bare open_clip on pre-decoded tensors."""
    import open_clip

    scorer = scorer_for(SPEC, "cpu")
    model, _, preprocess = open_clip.create_model_and_transforms(MODEL, pretrained=None)
    model.eval()
    tokenizer = open_clip.get_tokenizer(MODEL)
    batches = predecoded_batches(workspace, preprocess, args.batch_size)
    warm = [(batches[0][0][:2], batches[0][1][:2])]
    bare_clip(model, tokenizer, warm)
    scorer.score(*warm[0])
    images = sum(len(c) for _, c in batches)
    options = ScoreOptions(
        clip=SPEC,
        device="cpu",
        batch_size=args.batch_size,
        workers=args.workers,
        progress=False,
    )
    ours = Timing("ours, CLIP", images, [])
    anchor = Timing("bare open_clip, pre-decoded", images, [])
    alternate(
        [
            (ours, lambda: our_score(workspace, options)),
            (anchor, lambda: bare_clip(model, tokenizer, batches)),
        ],
        args.repeats,
    )
    return ours, anchor


def decode_pair(workspace: Workspace, args: argparse.Namespace) -> tuple[Timing, Timing]:
    """Our scoring without CLIP against a plain decode of the same shards."""
    images = count_images(workspace)
    options = ScoreOptions(
        clip=None, batch_size=args.batch_size, workers=args.workers, progress=False
    )
    our_score(workspace, options)
    ours = Timing("ours, no CLIP", images, [])
    anchor = Timing("plain decode", images, [])
    alternate(
        [(ours, lambda: our_score(workspace, options)), (anchor, lambda: decode_only(workspace))],
        args.decode_repeats,
    )
    return ours, anchor


def machine() -> str:
    """CPU model, cores, load average, Python and torch versions, torch threads."""
    return f"{describe_machine()}, torch {torch.__version__} ({torch.get_num_threads()} threads)"


def table(pairs: list[tuple[Timing, Timing, float]]) -> str:
    """The summary as a markdown table: one line per side, ratios (best, median) on ours."""
    lines = [
        "| run | images | best img/s | median img/s | ours / anchor, best (median) | target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for ours, anchor, target in pairs:
        best, median = ours.best / anchor.best, ours.median / anchor.median
        verdict = "met" if best >= target else "MISSED"
        lines.append(
            f"| {ours.name} | {ours.images} | {ours.best:.1f} | {ours.median:.1f} "
            f"| **{best:.2f}x** ({median:.2f}x) | >= {target}x: {verdict} |"
        )
        lines.append(
            f"| {anchor.name} | {anchor.images} | {anchor.best:.1f} | {anchor.median:.1f} | | |"
        )
    return "\n".join(lines)


def records(pairs: list[tuple[Timing, Timing, float]], command: str) -> list[dict[str, Any]]:
    """The comparisons as benchmark records (best runs; ratio = ours / anchor)."""
    return [
        {
            "stage": "filter",
            "metric": f"score phase throughput, {ours.name} ({ours.images} images, target "
            f">= {target}x)",
            "ours": ours.best,
            "anchor": anchor.name,
            "anchor_value": anchor.best,
            "unit": "images/s",
            "ratio": ours.best / anchor.best,
            "command": command,
            "machine": machine(),
        }
        for ours, anchor, target in pairs
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=128, help="images in the CLIP pair")
    parser.add_argument("--decode-images", type=int, default=2048, help="images without CLIP")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="our DataLoader workers")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each CLIP side")
    parser.add_argument("--decode-repeats", type=int, default=5, help="runs of each no-CLIP side")
    parser.add_argument(
        "--synthetic", action="store_true", help="draw the raw shards instead of downloading"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(
        f"settings: {MODEL} random weights, device cpu, batch size {args.batch_size}, "
        f"{args.workers} DataLoader workers, {args.repeats} + {args.decode_repeats} "
        "alternating runs per side"
    )
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        clip_space = build_raw(args.images, Path(tmp), "clip", args.synthetic)
        full = build_raw(args.decode_images, Path(tmp), "plain", args.synthetic)
        print(f"raw/ folders built in {time.perf_counter() - start:.0f} s")
        print(f"CLIP pair on {count_images(clip_space)} images:", flush=True)
        clip_ours, clip_anchor = clip_pair(clip_space, args)
        print(f"no-CLIP pair on {count_images(full)} images:", flush=True)
        plain_ours, plain_anchor = decode_pair(full, args)
    pairs = [(clip_ours, clip_anchor, 0.9), (plain_ours, plain_anchor, 0.7)]
    print("\nthroughput: best and median of the alternating runs; verdict on the best:\n")
    print(table(pairs))
    if args.json:
        command = "python benchmarks/score_bench.py " + " ".join(sys.argv[1:])
        args.json.write_text(json.dumps(records(pairs, command), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

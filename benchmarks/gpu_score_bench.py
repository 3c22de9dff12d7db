"""CLIP scoring throughput on a GPU: our score phase against bare open_clip, in one run.

Ours: the filter stage's score phase (`filter_stage(..., ScoreOptions(clip=ViT-B-32 random
weights, device, batch size, DataLoader workers), None)`) over raw shards in img2dataset's layout
that this script writes itself (synthetic 256 px JPEGs: gradients and shapes, a caption each; a
few hundred distinct images repeated, no network). Decoding, preprocessing, pHash and caption
facts happen in the workers; the model runs in fp16 under `torch.inference_mode`. Anchor: the same
open_clip model (fp16, eval) on pre-decoded, preprocessed tensors kept in host memory: per batch
only the copy to the device, `encode_image` + `encode_text(tokenizer(captions))`, normalise and
cosine, with a device synchronise at the end. Model loading and a warm-up batch are excluded
from both sides; runs alternate (ours, anchor, ...) and each side's best run is compared.

Ours runs both ways (`--decode-on both`, the default): `device` (JPEGs decoded in batches on
the GPU by nvJPEG, resized and normalised there: device_scoring.py) and `cpu` (PIL in the
workers). The score files of the two are compared: the largest score difference is printed
(the device path must stay within 1e-3 of the CPU path on the same images). `--devices
cuda:0,cuda:1` spreads the shards over several GPUs (give as many `--shards`).

Built to run once on a fresh GPU machine with only the repository and its venv, in well under 3
minutes: every step prints its progress, and repeats stop early past `--budget` seconds.

    python benchmarks/gpu_score_bench.py [--device cuda] [--samples 20000] [--batch-size 256]
        [--workers N] [--repeats 3] [--decode-on both|device|cpu] [--devices auto] [--json PATH]
    python benchmarks/gpu_score_bench.py --device cpu --samples 256 --repeats 1   # a smoke test
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from machine import describe_machine
from PIL import Image, ImageDraw

from wit_pipeline.core.atomic import write_json_atomic
from wit_pipeline.core.markers import Markers
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.scoring.clip import ClipSpec
from wit_pipeline.stages.filter import ScoreOptions, filter_stage
from wit_pipeline.stages.filter.score import scorer_for

MODEL = "ViT-B-32"
SPEC = ClipSpec(MODEL, "random")
IMAGE_SIZE = 256
COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "black", "white"]
SHAPES = ["circle", "square", "triangle", "cross"]
START = time.perf_counter()


def say(text: str) -> None:
    """A progress line with the seconds since the start."""
    print(f"[{time.perf_counter() - START:6.1f} s] {text}", flush=True)


def synthetic_sample(index: int) -> tuple[bytes, str]:
    """A 256 px JPEG (a gradient and a shape) and its caption, from `index` alone."""
    rng = np.random.default_rng(index)
    ramp = np.linspace(0, 1, IMAGE_SIZE, dtype=np.float32)
    base = rng.integers(0, 256, 3).astype(np.float32)
    pixels = base * ramp[:, None, None] + (255 - base) * (1 - ramp[None, :, None])
    image = Image.fromarray(pixels.astype(np.uint8), "RGB")
    colour, shape = COLOURS[index % len(COLOURS)], SHAPES[index // len(COLOURS) % len(SHAPES)]
    x, y = rng.integers(40, 216, 2)
    r = int(rng.integers(20, 60))
    box = [int(x) - r, int(y) - r, int(x) + r, int(y) + r]
    draw = ImageDraw.Draw(image)
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "square":
        draw.rectangle(box, fill=colour)
    elif shape == "triangle":
        draw.polygon([(box[0], box[3]), (box[2], box[3]), ((box[0] + box[2]) // 2, box[1])], colour)
    else:
        draw.rectangle([box[0], y - r // 4, box[2], y + r // 4], fill=colour)
        draw.rectangle([x - r // 4, box[1], x + r // 4, box[3]], fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue(), f"a photo of a {colour} {shape} on a gradient background"


def add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    """Add one member with `data` to an open tar."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_raw(root: Path, samples: int, distinct: int, shards: int) -> Workspace:
    """A workspace whose raw/ holds `samples` successful samples in `shards` shards, in
    img2dataset's layout (tar of KEY.jpg/.txt/.json, samples parquet, _stats.json, markers)."""
    workspace = Workspace(root)
    workspace.raw_dir.mkdir(parents=True, exist_ok=True)
    pool = [synthetic_sample(i) for i in range(distinct)]
    per_shard = -(-samples // shards)
    markers = Markers(workspace.raw_dir)
    for shard in range(shards):
        keys = range(shard * per_shard, min(samples, (shard + 1) * per_shard))
        rows = []
        with tarfile.open(workspace.raw_dir / f"{shard:05d}.tar", "w") as tar:
            for number in keys:
                key = f"{number:09d}"
                jpg, caption = pool[number % distinct]
                meta = {"url": f"https://example.invalid/{key}.jpg", "caption": caption}
                add_member(tar, f"{key}.jpg", jpg)
                add_member(tar, f"{key}.txt", caption.encode())
                add_member(tar, f"{key}.json", json.dumps(meta).encode())
                rows.append(
                    {
                        **meta,
                        "key": key,
                        "status": "success",
                        "width": IMAGE_SIZE,
                        "height": IMAGE_SIZE,
                        "original_width": IMAGE_SIZE,
                        "original_height": IMAGE_SIZE,
                    }
                )
        table = pa.Table.from_pylist(rows, schema=load_schema("samples").arrow)
        pq.write_table(table, workspace.raw_dir / f"{shard:05d}.parquet")
        write_json_atomic(
            workspace.raw_dir / f"{shard:05d}_stats.json",
            {"count": len(rows), "successes": len(rows), "resize_mode": "center_crop"},
        )
        markers.mark_done(f"{shard:05d}", {"rows": len(rows)})
    markers.mark_stage_done({"shards": shards})
    return workspace


def our_run(workspace: Workspace, options: ScoreOptions) -> tuple[float, dict[str, float]]:
    """Seconds for our score phase over every raw shard, into an empty scores/ folder, and the
    scores it wrote by key."""
    shutil.rmtree(workspace.scores_dir, ignore_errors=True)
    start = time.perf_counter()
    filter_stage(workspace, options, None)
    seconds = time.perf_counter() - start
    scores = {}
    for path in sorted(workspace.scores_dir.glob("[0-9]*.parquet")):
        table = pq.read_table(path, columns=["key", "clip_score"]).to_pydict()
        scores.update(zip(table["key"], table["clip_score"], strict=True))
    return seconds, scores


class BareClip:
    """The anchor: one open_clip model and pre-decoded batches in host memory."""

    def __init__(self, device: str, batch_size: int, distinct: int, samples: int) -> None:
        import open_clip

        self.device = device
        self.dtype = torch.float16 if device == "cuda" else torch.float32
        model, _, preprocess = open_clip.create_model_and_transforms(MODEL, pretrained=None)
        self.model = model.to(device=device, dtype=self.dtype).eval()
        self.tokenizer = open_clip.get_tokenizer(MODEL)
        pool = [synthetic_sample(i) for i in range(min(distinct, batch_size))]
        images = [preprocess(Image.open(io.BytesIO(jpg)).convert("RGB")) for jpg, _ in pool]
        self.images = torch.stack([images[i % len(images)] for i in range(batch_size)])
        if device == "cuda":
            self.images = self.images.pin_memory()
        captions = [caption for _, caption in pool]
        self.captions = [captions[i % len(captions)] for i in range(batch_size)]
        self.batches = [min(batch_size, samples - s) for s in range(0, samples, batch_size)]

    def run(self, batches: list[int] | None = None) -> float:
        """Seconds to score every batch (or the given batch sizes)."""
        start = time.perf_counter()
        with torch.inference_mode():
            for size in batches or self.batches:
                images = self.images[:size].to(self.device, self.dtype, non_blocking=True)
                text = self.tokenizer(self.captions[:size]).to(self.device)
                image_emb = torch.nn.functional.normalize(self.model.encode_image(images), dim=-1)
                text_emb = torch.nn.functional.normalize(self.model.encode_text(text), dim=-1)
                (image_emb * text_emb).sum(dim=-1).float().cpu()
        if self.device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start


def device_name(device: str) -> str:
    """The accelerator's name, or the CPU's."""
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        return f"{props.name} ({props.total_memory / 2**30:.0f} GiB)"
    return "CPU"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=max(1, min(14, (os.cpu_count() or 2) - 2)))
    parser.add_argument("--shards", type=int, default=2, help="img2dataset writes 10k a shard")
    parser.add_argument("--distinct", type=int, default=256, help="distinct images drawn")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=float, default=150.0, help="stop repeating after this")
    parser.add_argument("--decode-on", choices=["both", "device", "cpu"], default="both")
    parser.add_argument("--devices", default="auto", help="e.g. cuda:0,cuda:1 (default: auto)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: no CUDA device visible (use --device cpu)", file=sys.stderr)
        return 2
    machine = f"{describe_machine()}, torch {torch.__version__}, device {device_name(args.device)}"
    say(f"machine: {machine}")
    say(
        f"settings: {MODEL} random weights, {args.device}, batch {args.batch_size}, "
        f"{args.workers} DataLoader workers, {args.samples} samples in {args.shards} shards"
    )
    with tempfile.TemporaryDirectory() as tmp:
        workspace = write_raw(Path(tmp) / "w", args.samples, args.distinct, args.shards)
        say(f"raw shards written ({args.distinct} distinct images)")
        ways = ["device", "cpu"] if args.decode_on == "both" else [args.decode_on]
        options = {
            way: ScoreOptions(
                clip=SPEC,
                device=args.device,
                devices=args.devices,
                decode_on=way,
                batch_size=args.batch_size,
                workers=args.workers,
                progress=False,
            )
            for way in ways
        }
        scorer = scorer_for(SPEC, args.device)
        anchor = BareClip(args.device, args.batch_size, args.distinct, args.samples)
        scorer.score(anchor.images[:2], anchor.captions[:2])
        anchor.run([2])
        say("models loaded and warmed up")
        ours_s: dict[str, list[float]] = {way: [] for way in ways}
        scores: dict[str, dict[str, float]] = {}
        anchor_s = []
        for round_ in range(args.repeats):
            for way in ways:
                seconds, scores[way] = our_run(workspace, options[way])
                ours_s[way].append(seconds)
            anchor_s.append(anchor.run())
            rates = ", ".join(f"ours ({w}) {args.samples / ours_s[w][-1]:,.0f}" for w in ways)
            say(f"round {round_ + 1}: {rates}, bare open_clip {args.samples / anchor_s[-1]:,.0f}")
            if time.perf_counter() - START > args.budget:
                say("budget reached: no more rounds")
                break
        scored = {
            way: sum(value is not None for value in found.values()) for way, found in scores.items()
        }
    if len(ways) == 2:
        both = [(scores["device"][k], v) for k, v in scores["cpu"].items() if v is not None]
        worst = max(abs(a - b) for a, b in both if a is not None)
        say(f"largest |device - cpu| score difference over {len(both)} samples: {worst:.2e}")
    bare = args.samples / min(anchor_s)
    print("\n| run | samples | best img/s | median img/s | ours / anchor (best) |")
    print("|---|---:|---:|---:|---:|")
    for way in ways:
        ours = args.samples / min(ours_s[way])
        print(
            f"| ours: score phase, decode on {way}, {args.workers} workers | {args.samples} "
            f"| {ours:,.0f} | {args.samples / np.median(ours_s[way]):,.0f} "
            f"| **{ours / bare:.2f}x** |"
        )
    print(
        f"| bare open_clip, pre-decoded | {args.samples} | {bare:,.0f} "
        f"| {args.samples / np.median(anchor_s):,.0f} | |"
    )
    say(f"done; samples with a CLIP score: {scored}")
    if args.json:
        records = [
            {
                "stage": "filter",
                "metric": f"CLIP scoring throughput, {MODEL} "
                f"{'fp16' if args.device == 'cuda' else 'fp32'}, batch {args.batch_size}, "
                f"{args.workers} DataLoader workers, {args.device}, decode on {way}",
                "ours": args.samples / min(ours_s[way]),
                "anchor": "bare open_clip encode_image + encode_text on pre-decoded tensors",
                "anchor_value": bare,
                "unit": "images/s",
                "ratio": args.samples / min(ours_s[way]) / bare,
                "command": "python benchmarks/gpu_score_bench.py " + " ".join(sys.argv[1:]),
                "machine": machine,
            }
            for way in ways
        ]
        args.json.write_text(json.dumps(records, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

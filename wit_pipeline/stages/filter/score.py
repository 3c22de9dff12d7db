"""Score phase: facts about every raw sample, once, into `scores/NNNNN.parquet`.

Each image is decoded once (in DataLoader workers) and everything is derived from that decode:
size, pHash and, when a CLIP model is given, the preprocessed tensor. Cached per shard: another
threshold re-reads the cache; another model recomputes only the CLIP columns.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from wit_pipeline.core.atomic import atomic_path
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.scoring.clip import ClipScorer, ClipSpec
from wit_pipeline.scoring.language import detect_language
from wit_pipeline.scoring.phash import padded_content_box, phash64

IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp")
EMBEDDINGS_DIR = "embeddings"
_SCORERS: dict[tuple[str, str], ClipScorer] = {}


@dataclass(frozen=True)
class ScoreJob:
    """The picklable argument of one raw shard's scoring."""

    shard: str
    raw_dir: str
    scores_dir: str
    clip: ClipSpec | None
    device: str = "auto"
    batch_size: int = 64
    workers: int = 0
    save_embeddings: bool = False


def _resize_mode(raw_dir: Path, shard: str) -> str:
    """How the download resized this shard, from its `_stats.json` (img2dataset's own stats
    do not say: its default, `border`, is assumed). Only `border` adds padding to cut away."""
    path = raw_dir / f"{shard}_stats.json"
    try:
        return str(json.loads(path.read_text()).get("resize_mode", "border"))
    except (OSError, ValueError):
        return "border"


def raw_fingerprint(raw_dir: Path, shard: str) -> list[int]:
    """Size and mtime of a raw shard's parquet: scores of an older version are not reused."""
    stat = (raw_dir / f"{shard}.parquet").stat()
    return [stat.st_size, stat.st_mtime_ns]


def scorer_for(spec: ClipSpec, device: str) -> ClipScorer:
    """One loaded model per process, shared by every shard it scores."""
    key = (spec.model_id, device)
    if key not in _SCORERS:
        _SCORERS[key] = ClipScorer(spec, device)
    return _SCORERS[key]


def index_tar_images(path: Path) -> tuple[dict[str, tuple[int, int]], int]:
    """(offset, size) of each image member by key, from the tar headers alone, and how many
    members could not be read. Workers then read just their images: the shard is never held
    in memory whole, and reading overlaps decoding."""
    members: dict[str, tuple[int, int]] = {}
    broken = 0
    try:
        with tarfile.open(path) as archive:
            for member in archive:
                key, _, ext = member.name.partition(".")
                if ext.lower() in IMAGE_EXTENSIONS:
                    if member.isfile():
                        members[key] = (member.offset_data, member.size)
                    else:
                        broken += 1
    except (tarfile.TarError, OSError, EOFError):
        broken += 1
    return members, broken


class _Decoded:
    """A torch Dataset decoding one image per item: (index, tensor or None, w, h, phash, error).

    Items are (index, tar path, offset, size, original size); each worker reads its images
    from the tar itself.
    """

    def __init__(self, items: list[tuple], preprocess: Any, hashes: bool) -> None:
        self.items, self.preprocess, self.hashes = items, preprocess, hashes
        self._tar: tuple[int, str, Any] | None = None

    def _read(self, tar_path: str, offset: int, size: int) -> bytes:
        """Member bytes through one handle per process (workers are forked with the dataset)."""
        if self._tar is None or self._tar[:2] != (os.getpid(), tar_path):
            self._tar = (os.getpid(), tar_path, open(tar_path, "rb"))  # noqa: SIM115
        handle = self._tar[2]
        handle.seek(offset)
        return handle.read(size)

    def close(self) -> None:
        """Close this process's tar handle."""
        if self._tar is not None:
            self._tar[2].close()
            self._tar = None

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, position: int) -> tuple:
        index, tar_path, offset, size, original = self.items[position]
        try:
            data = self._read(tar_path, offset, size)
            if len(data) < size:
                raise EOFError(f"tar member cut short ({len(data)} of {size} bytes)")
            with Image.open(io.BytesIO(data)) as opened:
                image = opened.convert("RGB")
        except Exception as exc:
            return index, None, None, None, None, f"decode_error: {type(exc).__name__}"
        try:
            tensor = self.preprocess(image) if self.preprocess is not None else None
            phash = None
            if self.hashes:
                box = padded_content_box(image.width, image.height, *original)
                phash = phash64(image.crop(box) if box else image)
        except Exception as exc:
            return index, None, image.width, image.height, None, f"score_error: {exc}"[:200]
        return index, tensor, image.width, image.height, phash, None


def _collate(batch: list[tuple]) -> list[tuple]:
    return batch


def _caption_facts(caption: str | None) -> tuple[int | None, int | None, str | None]:
    if caption is None:
        return None, None, None
    words = caption.split()
    return len(caption), len(words), detect_language(caption) if words else None


def _fresh_row(sample: dict[str, Any], scorer: ClipScorer | None) -> dict[str, Any]:
    chars, words, lang = _caption_facts(sample.get("caption"))
    return {
        "key": sample["key"],
        "width": None,
        "height": None,
        "caption_chars": chars,
        "caption_words": words,
        "lang": lang,
        "phash": None,
        "clip_score": None,
        "clip_model": scorer.model_id if scorer else None,
        "error": None,
    }


def _cached_rows(path: Path, keys: list[str]) -> list[dict[str, Any]] | None:
    """The rows of an earlier scoring of this shard, if it covers exactly these keys."""
    if not path.is_file():
        return None
    try:
        rows = pq.read_table(path).to_pylist()
    except (pa.ArrowInvalid, OSError):
        return None
    return rows if [r["key"] for r in rows] == keys else None


def score_shard(job: ScoreJob) -> dict[str, Any]:
    """Score one raw shard into scores/SHARD.parquet (atomically); returns counts."""
    import torch
    from torch.utils.data import DataLoader

    raw_dir, scores_path = Path(job.raw_dir), Path(job.scores_dir) / f"{job.shard}.parquet"
    samples = pq.read_table(raw_dir / f"{job.shard}.parquet").to_pylist()
    letterboxed = _resize_mode(raw_dir, job.shard) == "border"
    tar_path = raw_dir / f"{job.shard}.tar"
    images, broken = index_tar_images(tar_path)
    scorer = scorer_for(job.clip, job.device) if job.clip else None
    cached = _cached_rows(scores_path, [s["key"] for s in samples])
    if cached is not None:
        rows = cached
        for row in rows:
            row["clip_score"] = None
            row["clip_model"] = scorer.model_id if scorer else None
    else:
        rows = [_fresh_row(sample, scorer) for sample in samples]
    items = []
    for index, sample in enumerate(samples):
        if sample["status"] != "success":
            rows[index]["error"] = "not_downloaded"
        elif sample["key"] not in images:
            rows[index]["error"] = "missing_image"
        else:
            original = (
                (sample.get("original_width"), sample.get("original_height"))
                if letterboxed
                else (None, None)
            )
            offset, size = images[sample["key"]]
            items.append((index, str(tar_path), offset, size, original))
    if cached is not None and scorer is None:
        items = []
    dataset = _Decoded(items, scorer.preprocess if scorer else None, hashes=cached is None)
    loader = DataLoader(
        dataset,
        batch_size=job.batch_size,
        num_workers=job.workers,
        collate_fn=_collate,
    )
    embeddings: dict[str, list] = {"index": [], "image": [], "text": []}
    try:
        for batch in loader:
            ready = []
            for index, tensor, width, height, phash, error in batch:
                if cached is None:
                    rows[index].update(width=width, height=height, phash=phash, error=error)
                if tensor is not None:
                    ready.append((index, tensor))
            if scorer and ready:
                captions = [samples[i].get("caption") or "" for i, _ in ready]
                scores, image_emb, text_emb = scorer.score(
                    torch.stack([t for _, t in ready]), captions
                )
                for (index, _), value in zip(ready, scores, strict=True):
                    rows[index]["clip_score"] = float(value)
                if job.save_embeddings:
                    embeddings["index"].extend(i for i, _ in ready)
                    embeddings["image"].append(image_emb)
                    embeddings["text"].append(text_emb)
    finally:
        dataset.close()
    with atomic_path(scores_path) as temp:
        pq.write_table(pa.Table.from_pylist(rows, schema=load_schema("scores").arrow), temp)
    if job.save_embeddings and embeddings["index"]:
        keys = np.array([samples[i]["key"] for i in embeddings["index"]])
        target = Path(job.scores_dir) / EMBEDDINGS_DIR / f"{job.shard}.npz"
        with atomic_path(target) as temp, open(temp, "wb") as handle:
            np.savez(
                handle,
                key=keys,
                image=np.concatenate(embeddings["image"]),
                text=np.concatenate(embeddings["text"]),
            )
    return {
        "rows": len(rows),
        "decoded": sum(1 for r in rows if r["width"]),
        "broken_members": broken,
        "raw": raw_fingerprint(raw_dir, job.shard),
        "clip_model": scorer.model_id if scorer else None,
    }

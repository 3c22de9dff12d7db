"""Score phase: facts about every raw sample, once, into `scores/NNNNN.parquet`.

Each image is decoded in DataLoader workers, a JPEG only as large as needed (see sample_facts):
size, pHash, colour hash, dedupe views and, when a CLIP model is given, the preprocessed
tensor. Cached per shard: another threshold re-reads the cache; another model recomputes only
the CLIP columns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from wit_pipeline.core.atomic import atomic_path
from wit_pipeline.core.schemas import load_schema
from wit_pipeline.core.staging import Staging
from wit_pipeline.core.tar import IMAGE_EXTENSIONS, Member, TarIndex, index_tar
from wit_pipeline.scoring.clip import ClipScorer, ClipSpec
from wit_pipeline.scoring.heads import HeadSpec, load_head
from wit_pipeline.scoring.language import detect_language
from wit_pipeline.stages.filter.device_scoring import DeviceInputs, TensorSteps, decode_on_device
from wit_pipeline.stages.filter.head_scores import write_head_scores
from wit_pipeline.stages.filter.sample_facts import (
    DeviceNormalised,
    Item,
    SampleFacts,
    caption_facts,
    collate,
)
from wit_pipeline.stages.filter.semantic import EMBEDDINGS_DIR
from wit_pipeline.stages.filter.worker_tokens import WithTokens, collate_with_tokens

FACTS_VERSION = 5
"""The facts a scores file holds; a shard scored by another version is scored again (2: the
colour hash; 3: both hashes from a JPEG draft decode; 4: the dedupe views; 5: their texture
signature)."""
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
    heads: tuple[tuple[HeadSpec, str], ...] = ()
    """Classifier heads with the sha256 of their files."""
    heads_only: bool = False
    """Only the heads changed since this shard was scored by this model: its saved
    embeddings, when there are, give their scores without running CLIP again."""
    decode_on: str = "cpu"
    """Where the CLIP input is made: `cpu` (the workers, PIL), `device` (device_scoring.py) or
    `auto` (device on a GPU)."""

    def staged(self, staging: Staging) -> ScoreJob:
        """This job on a node's scratch (a workspace on object storage, core.staging): its raw
        shard fetched, and the scores and embeddings it may reuse."""
        raw, scores = Path(self.raw_dir), Path(self.scores_dir)
        fetched = [staging.fetch(raw / f"{self.shard}{end}") for end in (".tar", ".parquet")]
        staging.fetch(raw / f"{self.shard}_stats.json")
        staging.fetch(scores / f"{self.shard}.parquet")
        staging.fetch(scores / EMBEDDINGS_DIR / f"{self.shard}.npz")
        raw_dir = str(Path(fetched[0]).parent)
        return replace(self, raw_dir=raw_dir, scores_dir=staging.output(scores))


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


def _blank_row(key: str, scorer: ClipScorer | None) -> dict[str, Any]:
    return {
        "key": key,
        "width": None,
        "height": None,
        "caption_chars": None,
        "caption_words": None,
        "lang": None,
        "phash": None,
        "colour_hash": None,
        "view_phash": None,
        "view_colour": None,
        "view_soft_colour": None,
        "view_kind": None,
        "view_log_aspect": None,
        "view_texture": None,
        "clip_score": None,
        "clip_model": scorer.model_id if scorer else None,
        "error": None,
    }


def _unreadable(sample: dict[str, Any], tar: TarIndex) -> str | None:
    """Why a raw sample has no image to score, or None."""
    if sample["status"] != "success":
        return "not_downloaded"
    problem = tar.problems.get(sample["key"])
    if problem is not None:
        return f"bad_member: {problem}"
    if not any(ext in tar.members.get(sample["key"], {}) for ext in IMAGE_EXTENSIONS):
        return "missing_image"
    return None


def _plan(
    samples: list[dict[str, Any]], tar_path: Path, letterboxed: bool
) -> tuple[list[Item], dict[int, str]]:
    """The samples the workers score, and why each of the others cannot be scored."""
    tar = index_tar(tar_path)
    items, problems = [], {}
    for index, sample in enumerate(samples):
        problem = _unreadable(sample, tar)
        if problem is not None:
            problems[index] = problem
            continue
        members = tar.members[sample["key"]]
        original = (sample.get("original_width"), sample.get("original_height"))
        items.append(
            Item(
                index=index,
                tar=str(tar_path),
                image=next(members[e] for e in IMAGE_EXTENSIONS if e in members),
                metadata=members.get("json"),
                original=original if letterboxed else (None, None),
                caption=sample.get("caption"),
            )
        )
    return items, problems


def _cached_rows(path: Path, keys: list[str]) -> list[dict[str, Any]] | None:
    """The rows of an earlier scoring of this shard, if it covers exactly these keys."""
    if not path.is_file():
        return None
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError):
        return None
    if table.schema.names != load_schema("scores").arrow.names:
        return None
    rows = table.to_pylist()
    return rows if [r["key"] for r in rows] == keys else None


def _heads_from_saved(job: ScoreJob, scores_path: Path) -> dict[str, Any] | None:
    """The heads' scores from the shard's saved embeddings (no CLIP run), when only the heads
    changed and the embeddings are the model's; its marker facts, or None."""
    saved = Path(job.scores_dir) / EMBEDDINGS_DIR / f"{job.shard}.npz"
    if not (job.heads_only and job.clip and saved.is_file() and scores_path.is_file()):
        return None
    with np.load(saved, allow_pickle=False) as data:
        model = str(data["clip_model"]) if "clip_model" in data else None
        keys, image = data["key"].tolist(), data["image"]
    if model != job.clip.model_id:
        return None
    heads = [(load_head(spec), sha) for spec, sha in job.heads]
    write_head_scores(scores_path, keys, model, heads, image)
    rows = pq.read_table(scores_path, columns=["width", "error"]).to_pylist()
    return {
        "rows": len(rows),
        "decoded": sum(1 for r in rows if r["width"]),
        "errors": sum(1 for r in rows if r["error"]),
        "raw": raw_fingerprint(Path(job.raw_dir), job.shard),
        "facts": FACTS_VERSION,
        "clip_model": model,
        "heads": {head.name: sha for head, sha in heads},
    }


def _device_inputs(job: ScoreJob, scorer: ClipScorer | None) -> DeviceInputs | None:
    """The device path of this job's CLIP input, or None for the workers' CPU path (no model,
    `--decode-on cpu`, or a preprocessing without a tensor twin)."""
    if scorer is None or not decode_on_device(job.decode_on, scorer.device):
        return None
    steps = TensorSteps.of(scorer.preprocess)
    return DeviceInputs(steps, scorer.preprocess, scorer.device) if steps else None


def _on_host(parts: list[Any]) -> np.ndarray:
    """Tensors kept on the device during a shard, concatenated into one array on the host."""
    import torch

    return torch.cat(parts).cpu().numpy() if parts else np.zeros(0, np.float32)


def _bodies(tar_path: Path, members: list[Member]) -> list[bytes]:
    """The bytes of these tar members, through one handle."""
    with open(tar_path, "rb") as handle:
        out = []
        for member in members:
            handle.seek(member.offset)
            out.append(handle.read(member.size))
    return out


def _device_batch(
    inputs: DeviceInputs, ready: list[int], bodies: list[bytes], rows: list[dict[str, Any]]
) -> tuple[Any, list[int]]:
    """The device-made batch of the samples at `ready` and the indices it holds; a sample it
    cannot make gets its error in `rows`."""
    images, kept, failed = inputs.batch(bodies)
    for position, why in failed.items():
        rows[ready[position]]["error"] = why
    return images, [ready[position] for position in kept]


def score_shard(job: ScoreJob) -> dict[str, Any]:
    """Score one raw shard into scores/SHARD.parquet (atomically); returns counts."""
    import torch
    from torch.utils.data import DataLoader

    raw_dir, scores_path = Path(job.raw_dir), Path(job.scores_dir) / f"{job.shard}.parquet"
    reused = _heads_from_saved(job, scores_path)
    if reused is not None:
        return reused
    samples = pq.read_table(raw_dir / f"{job.shard}.parquet").to_pylist()
    letterboxed = _resize_mode(raw_dir, job.shard) == "border"
    scorer = scorer_for(job.clip, job.device) if job.clip else None
    cached = _cached_rows(scores_path, [s["key"] for s in samples])
    items, problems = _plan(samples, raw_dir / f"{job.shard}.tar", letterboxed)
    if cached is not None:
        rows = cached
        for row in rows:
            row["clip_score"] = None
            row["clip_model"] = scorer.model_id if scorer else None
        items = [item for item in items if scorer is not None and not rows[item.index]["error"]]
    else:
        rows = [_blank_row(sample["key"], scorer) for sample in samples]
        for index, problem in problems.items():
            rows[index].update(caption_facts(samples[index].get("caption")), error=problem)
    if cached is None:
        detect_language("load the language model once, before the workers fork")
    device_inputs = _device_inputs(job, scorer)
    split = DeviceNormalised.split(scorer.preprocess) if scorer and not device_inputs else None
    transform = None if device_inputs else split or (scorer.preprocess if scorer else None)
    clip_side = scorer.input_side if scorer else 0
    facts_dataset = SampleFacts(items, transform, facts=cached is None, clip_side=clip_side)
    members = {item.index: item.image for item in items}
    captions = {item.index: item.caption or "" for item in items}
    dataset = WithTokens(facts_dataset, scorer.tokenizer, captions) if scorer else facts_dataset
    loader = DataLoader(
        dataset,
        batch_size=job.batch_size,
        num_workers=job.workers,
        collate_fn=collate_with_tokens if scorer else collate,
        pin_memory=scorer is not None and scorer.device.startswith("cuda"),
    )
    heads = [(load_head(spec), sha) for spec, sha in job.heads] if scorer else []
    embeddings: dict[str, list] = {"index": [], "score": [], "image": [], "text": []}
    """Kept on the model's device until the shard ends: no wait for the device per batch."""
    try:
        for updates, ready, images, *tokens in loader:
            for index, facts in updates:
                rows[index].update(facts)
            if device_inputs is not None:
                ready = [index for index, _ in updates if not rows[index]["error"]]
                bodies = _bodies(raw_dir / f"{job.shard}.tar", [members[i] for i in ready])
                images, ready = _device_batch(device_inputs, ready, bodies, rows)
            if scorer and ready:
                text = torch.stack([tokens[0][i] for i in ready])
                if split is not None:
                    images = split.normalise(images, scorer.device)
                scores, image_emb, text_emb = scorer.score_on_device(images, text)
                embeddings["index"].extend(ready)
                embeddings["score"].append(scores)
                if job.save_embeddings or heads:
                    embeddings["image"].append(image_emb)
                    embeddings["text"].append(text_emb)
    finally:
        dataset.close()
    host = {part: _on_host(embeddings[part]) for part in ("score", "image", "text")}
    for index, value in zip(embeddings["index"], host["score"], strict=True):
        rows[index]["clip_score"] = float(value)
    ordered = [samples[i]["key"] for i in embeddings["index"]]
    if heads:
        write_head_scores(scores_path, ordered, scorer.model_id, heads, host["image"])
    with atomic_path(scores_path) as temp:
        pq.write_table(pa.Table.from_pylist(rows, schema=load_schema("scores").arrow), temp)
    if job.save_embeddings and embeddings["index"]:
        keys = np.array(ordered)
        target = Path(job.scores_dir) / EMBEDDINGS_DIR / f"{job.shard}.npz"
        with atomic_path(target) as temp, open(temp, "wb") as handle:
            np.savez(
                handle,
                key=keys,
                image=host["image"],
                text=host["text"],
                clip_model=np.array(scorer.model_id),
            )
    return {
        "rows": len(rows),
        "decoded": sum(1 for r in rows if r["width"]),
        "errors": sum(1 for r in rows if r["error"]),
        "raw": raw_fingerprint(raw_dir, job.shard),
        "facts": FACTS_VERSION,
        "clip_model": scorer.model_id if scorer else None,
        "heads": {head.name: sha for head, sha in heads},
    }

"""Eval-set decontamination: find training samples that are near duplicates of eval images.

`--decontaminate PATH`: each sub-folder of PATH is one eval set (images and WebDataset tars
inside it, recursively); images and tars directly in PATH form a set named after PATH. The
overlap of a set is the share of its images with a near duplicate among the samples, the
figure the CLIP paper reports per eval set.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from wit_pipeline.core.errors import InputError
from wit_pipeline.scoring import near_duplicate_pairs
from wit_pipeline.scoring.phash import phash64

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")


@dataclass(frozen=True)
class EvalSet:
    """One eval set: its name and the pHashes of its images."""

    name: str
    hashes: np.ndarray


def _image_bytes(paths: list[Path]) -> Iterator[bytes]:
    for path in paths:
        if path.suffix.lower() in IMAGE_SUFFIXES:
            yield path.read_bytes()
        elif path.suffix.lower() == ".tar":
            with tarfile.open(path) as archive:
                for member in archive:
                    if Path(member.name).suffix.lower() in IMAGE_SUFFIXES:
                        handle = archive.extractfile(member)
                        if handle is not None:
                            yield handle.read()


def _hashes(paths: list[Path]) -> np.ndarray:
    values = []
    for data in _image_bytes(sorted(paths)):
        try:
            with Image.open(io.BytesIO(data)) as image:
                values.append(phash64(image.convert("RGB")))
        except Exception:
            continue
    return np.array(values, dtype=np.uint64)


def load_eval_sets(path: Path) -> tuple[EvalSet, ...]:
    """The eval sets under `path` (InputError if it holds no readable image)."""
    if not path.is_dir():
        raise InputError(f"--decontaminate {path}: not a folder")
    sets = []
    direct = [p for p in path.iterdir() if p.is_file()]
    if direct:
        sets.append(EvalSet(path.name, _hashes(direct)))
    for folder in sorted(p for p in path.iterdir() if p.is_dir()):
        sets.append(EvalSet(folder.name, _hashes([p for p in folder.rglob("*") if p.is_file()])))
    sets = [s for s in sets if s.hashes.size]
    if not sets:
        raise InputError(f"--decontaminate {path}: no readable images or image tars inside")
    return tuple(sets)


def overlapping(
    sample_hashes: np.ndarray, eval_set: EvalSet, distance: int
) -> tuple[list[int], int]:
    """Positions of samples within `distance` of any eval image, and how many eval images
    have such a sample."""
    count = sample_hashes.size
    pairs = near_duplicate_pairs(np.concatenate([sample_hashes, eval_set.hashes]), distance)
    cross = pairs[(pairs[:, 0] < count) & (pairs[:, 1] >= count)]
    return sorted(set(cross[:, 0].tolist())), len(set(cross[:, 1].tolist()))

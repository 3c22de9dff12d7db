"""Eval-set decontamination: find training samples that are near duplicates of eval images.

`--decontaminate PATH` (a folder or an fsspec folder URL): each sub-folder of PATH is one eval
set (images and WebDataset tars inside it, recursively); images and tars directly in PATH form
a set named after PATH. Eval images are hashed exactly as the score phase hashes samples. The
overlap of a set is the share of its images with a near duplicate among the samples, the
figure the CLIP paper reports per eval set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from fsspec import AbstractFileSystem

from wit_pipeline.core.errors import InputError
from wit_pipeline.core.storage import url_to_fs
from wit_pipeline.core.tar import MAX_IMAGE_BYTES, TarWalk, member_problem, open_stream
from wit_pipeline.scoring import near_duplicate_pairs
from wit_pipeline.stages.filter.sample_facts import decode, image_hashes

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalSet:
    """One eval set: its name and the pHashes of its images."""

    name: str
    hashes: np.ndarray


def _image_bytes(fs: AbstractFileSystem, paths: list[str]) -> Iterator[bytes]:
    """The bytes of every image file and every image member of a tar among `paths`, each at
    most MAX_IMAGE_BYTES (larger ones, links and unsafe members are skipped with a log line);
    tars are read with the project's one tar reader, never extracted."""
    for path in paths:
        suffix = PurePosixPath(path).suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            size = fs.size(path)
            if size is not None and size > MAX_IMAGE_BYTES:
                log.warning(
                    "%s: %s bytes, over the limit of %s; skipped", path, size, MAX_IMAGE_BYTES
                )
                continue
            yield fs.cat_file(path)
        elif suffix == ".tar":
            yield from _tar_images(fs, path)


def _tar_images(fs: AbstractFileSystem, path: str) -> Iterator[bytes]:
    with fs.open(path, "rb") as handle:
        walk = TarWalk(open_stream(handle))
        for entry in walk:
            if PurePosixPath(entry.name).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            problem = member_problem(entry, MAX_IMAGE_BYTES, flat=False)
            data = None if problem else walk.read(entry, MAX_IMAGE_BYTES)
            if data is None:
                log.warning(
                    "%s: member %r skipped: %s", path, entry.name[:100], problem or "cut short"
                )
                continue
            yield data
        if walk.damage and not walk.damage.startswith("tar ends at byte"):
            log.warning("%s: %s", path, walk.damage)


def _hashes(fs: AbstractFileSystem, paths: list[str]) -> np.ndarray:
    """pHashes of the readable images among `paths` (unreadable ones are skipped)."""
    values = []
    for data in _image_bytes(fs, sorted(paths)):
        try:
            values.append(image_hashes(decode(data))[0])
        except Exception:
            continue
    return np.array(values, dtype=np.uint64)


def load_eval_sets(url: str | Path) -> tuple[EvalSet, ...]:
    """The eval sets under folder `url` (InputError if it holds no readable image)."""
    fs, root = url_to_fs(url)
    if not fs.isdir(root):
        raise InputError(f"--decontaminate {url}: not a folder")
    root = root.rstrip("/")
    direct, folders = [], {}
    for path in fs.find(root):
        folder, _, rest = path[len(root) + 1 :].partition("/")
        if rest:
            folders.setdefault(folder, []).append(path)
        else:
            direct.append(path)
    named = [(PurePosixPath(root).name, direct)] if direct else []
    named += sorted(folders.items())
    sets = [EvalSet(name, _hashes(fs, paths)) for name, paths in named]
    sets = [s for s in sets if s.hashes.size]
    if not sets:
        raise InputError(f"--decontaminate {url}: no readable images or image tars inside")
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

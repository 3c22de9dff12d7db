"""Eval-set decontamination: find training samples that are near duplicates of eval images.

`--decontaminate PATH` (a folder or an fsspec folder URL): each sub-folder of PATH is one eval
set (images and WebDataset tars inside it, recursively); images and tars directly in PATH form
a set named after PATH. Eval images are hashed exactly as the score phase hashes samples (their
dedupe views), and matched with the samples by the dedupe's own rule, so an eval image found
cropped, padded or mirrored in the pool is caught too. The overlap of a set is the share of
its images with a near duplicate among the samples, the figure the CLIP paper reports per eval
set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fsspec import AbstractFileSystem

from wit_pipeline.core.errors import InputError
from wit_pipeline.core.storage import url_to_fs
from wit_pipeline.core.tar import MAX_IMAGE_BYTES, TarWalk, member_problem, open_stream
from wit_pipeline.scoring.dedupe import Views
from wit_pipeline.stages.filter.sample_facts import decode, image_hashes, view_columns
from wit_pipeline.stages.filter.shard_views import views_of

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalSet:
    """One eval set: its name, how many readable images it has, and their views (the sample
    of a view is its image's number)."""

    name: str
    size: int
    views: Views


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


def _eval_set(name: str, fs: AbstractFileSystem, paths: list[str]) -> EvalSet:
    """The views of the readable images among `paths` (unreadable ones are skipped)."""
    parts = []
    for data in _image_bytes(fs, sorted(paths)):
        try:
            views = image_hashes(decode(data))[2]
        except Exception:
            continue
        parts.append(views_of(view_columns(views)).shifted(len(parts)))
    return EvalSet(name, len(parts), Views.concat(parts))


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
    sets = [_eval_set(name, fs, paths) for name, paths in named]
    sets = [s for s in sets if s.size]
    if not sets:
        raise InputError(f"--decontaminate {url}: no readable images or image tars inside")
    return tuple(sets)

"""The image bytes of a raw sample, read from its raw tar through the workspace's one tar
reader; only tars under raw/ are opened, so the page serves nothing else."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from wit_pipeline.core.tar import TarIndex, image_member, index_tar, read_member

CACHED_TARS = 64
CONTENT_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
                 "webp": "image/webp"}  # fmt: skip


class RawImages:
    """Indexes of the raw tars, most recently used kept."""

    def __init__(self, raw_dir: Path) -> None:
        self.raw_dir = raw_dir.resolve()
        self._indexes: OrderedDict[str, TarIndex] = OrderedDict()
        self._lock = threading.Lock()

    def _tar(self, shard: str) -> Path | None:
        path = (self.raw_dir / f"{shard}.tar").resolve()
        return path if path.parent == self.raw_dir and path.is_file() else None

    def _index(self, shard: str, path: Path) -> TarIndex:
        with self._lock:
            if shard in self._indexes:
                self._indexes.move_to_end(shard)
                return self._indexes[shard]
        index = index_tar(path)
        with self._lock:
            self._indexes[shard] = index
            while len(self._indexes) > CACHED_TARS:
                self._indexes.popitem(last=False)
        return index

    def read(self, shard: str, key: str) -> tuple[bytes, str] | None:
        """The image of sample `key` of raw shard `shard` and its content type, or None."""
        path = self._tar(shard)
        if path is None:
            return None
        index = self._index(shard, path)
        member = image_member(index, key)
        if member is None:
            return None
        ext = next(e for e, m in index.members[key].items() if m == member)
        return read_member(path, member), CONTENT_TYPES.get(ext, "application/octet-stream")

"""Small JPEG thumbnails of raw samples, read from the raw tars by member offset.

Each raw tar's headers are scanned once (only for shards the report shows), then every image
is one seek and one read; thumbnails are data: URIs ready to embed. The raw folder may be a URL
(the tars of a workspace on object storage).
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from wit_pipeline.core import storage
from wit_pipeline.core.tar import Member, TarIndex, image_member, index_tar, read_member
from wit_pipeline.report.html import data_uri

THUMBNAIL_SIZE = 112
JPEG_QUALITY = 80


class Thumbnails:
    """Thumbnails of the samples in one workspace's raw/ folder."""

    def __init__(self, raw_dir: Path | str, size: int = THUMBNAIL_SIZE) -> None:
        self.raw_dir, self.size = str(raw_dir), size
        self._indexes: dict[str, TarIndex] = {}

    def _member(self, shard: str, key: str) -> Member | None:
        if shard not in self._indexes:
            self._indexes[shard] = index_tar(storage.join(self.raw_dir, f"{shard}.tar"))
        return image_member(self._indexes[shard], key)

    def uri(self, shard: str, key: str) -> str | None:
        """The sample's image as a JPEG thumbnail data: URI; None when it has no readable
        image (a failed download, a broken member)."""
        member = self._member(shard, key)
        if member is None:
            return None
        try:
            data = read_member(storage.join(self.raw_dir, f"{shard}.tar"), member)
            with Image.open(io.BytesIO(data)) as opened:
                image = opened.convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError):
            return None
        image.thumbnail((self.size, self.size))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
        return data_uri(buffer.getvalue(), "image/jpeg")

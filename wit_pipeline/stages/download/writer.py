"""The download's shard writer: img2dataset's webdataset layout without importing img2dataset.

The same files as img2dataset's WebDatasetSampleWriter writes, member for member: a streamed tar
with, per successful sample, `KEY.<format>` (the image), `KEY.json` (its row, indented by 4) and
`KEY.txt` (the caption), in that order with webdataset's TarWriter's owner and mode; and the
parquet of every row in row groups of 100. Importing img2dataset's writer imports webdataset
and torch (seconds per process), which a download of JPEGs on the fast resize path never
needs otherwise.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP = 100
"""Rows buffered per parquet row group, as img2dataset's BufferedParquetWriter."""
MEMBER_MODE = 0o444
OWNER = "bigdata"
"""webdataset TarWriter's defaults for every member."""


class ShardWriter:
    """Writes NNNNN.tar and NNNNN.parquet of one shard into a folder, sample by sample."""

    def __init__(
        self,
        shard_id: int,
        folder: str,
        schema: pa.Schema,
        encode_format: str,
        save_caption: bool = True,
    ) -> None:
        stem = Path(folder) / f"{shard_id:05d}"
        self.schema, self.encode_format = schema, encode_format
        self.save_caption = save_caption
        """False: no `.txt` members (an input without a caption column), as img2dataset."""
        self._tar_file = open(stem.with_suffix(".tar"), "wb")  # noqa: SIM115
        self._tar = tarfile.open(fileobj=self._tar_file, mode="w|")  # noqa: SIM115
        self._parquet = pq.ParquetWriter(stem.with_suffix(".parquet"), schema)
        self._rows: list[dict[str, Any]] = []

    def _add(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), time.time(), MEMBER_MODE
        info.uname = info.gname = OWNER
        self._tar.addfile(info, io.BytesIO(data))

    def write(self, image: bytes | None, key: str, caption: str | None, meta: dict) -> None:
        """One sample: its members in the tar when it has an image, its row in the parquet."""
        if image is not None:
            members = {self.encode_format: image, "json": json.dumps(meta, indent=4).encode()}
            if self.save_caption:
                members["txt"] = ("" if caption is None else str(caption)).encode()
            for extension in sorted(members):
                self._add(f"{key}.{extension}", members[extension])
        self._rows.append(meta)
        if len(self._rows) >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._parquet.write_table(pa.Table.from_pylist(self._rows, schema=self.schema))
            self._rows = []

    def close(self) -> None:
        """Write what is buffered and close both files."""
        try:
            self._flush()
            self._parquet.close()
        finally:
            self._tar.close()
            self._tar_file.close()

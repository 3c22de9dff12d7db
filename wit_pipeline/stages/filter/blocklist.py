"""Known-bad images (`filter --blocklist FILE`): the sha256 of the original image bytes, as
the download records it (img2dataset's `compute_hash`), and perceptual hashes matched within a
Hamming distance. A match is dropped as `blocklisted` before every other rule; the shards never
see it and the report counts it without showing it.

The file holds one entry a line: 64 hex digits (optionally `sha256:` before them) for a
cryptographic hash, `phash:` and 16 hex digits for a 64-bit pHash (`imagehash.phash`, the one
the score phase stores); blank lines and lines starting with `#` are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wit_pipeline.core.errors import InputError

_SHA256 = re.compile(r"^(?:sha256:)?([0-9a-fA-F]{64})$")
_PHASH = re.compile(r"^phash:([0-9a-fA-F]{16})$")
CHUNK = 1 << 22
"""Sample-by-entry comparisons made at once (32 MiB of uint64)."""


@dataclass(frozen=True)
class Blocklist:
    """The hashes of a blocklist file and the pHash distance that counts as a match."""

    sha256: frozenset[str] = frozenset()
    phashes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    distance: int = 4

    def match(
        self, sha256: pa.ChunkedArray | None, phash: np.ndarray, hashed: np.ndarray
    ) -> list[str | None]:
        """Per sample, why it is blocklisted ('sha256', 'phash distance D') or None. `phash`
        holds the samples' pHashes, `hashed` says which have one."""
        found: list[str | None] = [None] * phash.size
        if self.phashes.size:
            best = self._nearest(phash.astype(np.uint64))
            for position in np.flatnonzero(hashed & (best <= self.distance)).tolist():
                found[position] = f"phash distance {int(best[position])}"
        if self.sha256 and sha256 is not None:
            value_set = pa.array(sorted(self.sha256), pa.string())
            hits = pc.fill_null(pc.is_in(pc.utf8_lower(sha256), value_set=value_set), False)
            for position in np.flatnonzero(hits.to_numpy(zero_copy_only=False)).tolist():
                found[position] = "sha256"
        return found

    def _nearest(self, phash: np.ndarray) -> np.ndarray:
        """Each sample's smallest Hamming distance to a blocklisted pHash."""
        best = np.full(phash.size, 65, dtype=np.int64)
        step = max(1, CHUNK // max(1, phash.size))
        for start in range(0, self.phashes.size, step):
            entries = self.phashes[start : start + step]
            bits = np.bitwise_count(phash[:, None] ^ entries[None, :])
            best = np.minimum(best, bits.min(axis=1))
        return best


def load_blocklist(path: str, distance: int) -> Blocklist:
    """The blocklist in `path`; an InputError naming the line of the first bad entry."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--blocklist {path}: cannot read ({exc})") from exc
    sha256, phashes = set(), []
    for number, line in enumerate(lines, 1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if match := _SHA256.match(entry):
            sha256.add(match.group(1).lower())
        elif match := _PHASH.match(entry):
            phashes.append(int(match.group(1), 16))
        else:
            raise InputError(
                f"--blocklist {path}:{number}: {entry[:40]!r} is neither 64 hex digits (sha256) "
                "nor phash: and 16 hex digits"
            )
    return Blocklist(frozenset(sha256), np.array(phashes, dtype=np.uint64), distance)

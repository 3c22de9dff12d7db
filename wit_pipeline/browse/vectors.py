"""Image embeddings of the items (what `filter --save-embeddings` wrote to
scores/embeddings/SHARD.npz, or computed on demand for the kept samples) and nearest-neighbour
search over them: exact (one matrix product) for small sets, a faiss IVF index for large ones."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from wit_pipeline.browse.encoder import QueryEncoder
from wit_pipeline.browse.images import RawImages
from wit_pipeline.catalog import Catalog
from wit_pipeline.core.errors import InputError

log = logging.getLogger(__name__)

EMBEDDINGS = "embeddings"
"""The folder under scores/ where the filter saves embeddings (one .npz per raw shard)."""
FAISS_FROM = 200_000
"""`auto` builds a faiss index from this many vectors on."""
INDEX_KINDS = ("auto", "exact", "faiss")
ON_DEMAND_MAX = 50_000
"""Kept samples encoded on demand at most (beyond, the filter must save embeddings)."""
ENCODE_BATCH = 64
NPROBE = 32


def embedding_files(scores_dir: Path) -> list[Path]:
    """The saved embedding files, in shard order."""
    return sorted((scores_dir / EMBEDDINGS).glob("*.npz"))


@dataclass
class Vectors:
    """Unit image vectors (N, D) and the item each row belongs to."""

    rids: np.ndarray
    matrix: np.ndarray
    index: Any = None

    @classmethod
    def load(cls, catalog: Catalog, files: list[Path], kind: str = "auto") -> Vectors:
        """Read every file, match its keys to items (by shard and key) and index them."""
        parts, keys, shards = [], [], []
        for path in files:
            with np.load(path) as data:
                parts.append(np.asarray(data["image"], dtype=np.float32))
                keys.append(data["key"].astype(str))
                shards.append(np.full(len(data["key"]), path.stem))
        if not parts:
            return cls(np.zeros(0, np.int64), np.zeros((0, 0), np.float32))
        matrix = np.concatenate(parts)
        table = pa.table({"key": np.concatenate(keys), "shard": np.concatenate(shards)})
        catalog.connection.register("saved_keys", table)
        try:
            rids = catalog.query(
                "SELECT coalesce(i.rid, -1) AS rid FROM (SELECT *, row_number() OVER () AS pos "
                "FROM saved_keys) k LEFT JOIN items i USING (shard, key) ORDER BY k.pos"
            )
        finally:
            catalog.connection.unregister("saved_keys")
        rids = rids.column("rid").to_numpy().astype(np.int64)
        known = rids >= 0
        if not known.all():
            log.warning("%d saved embeddings match no sample; left out", int((~known).sum()))
            rids, matrix = rids[known], matrix[known]
        vectors = cls(rids, np.ascontiguousarray(matrix))
        vectors.index = vectors.build_index(kind)
        return vectors

    def __len__(self) -> int:
        return len(self.rids)

    @property
    def dim(self) -> int:
        return self.matrix.shape[1] if self.matrix.ndim == 2 else 0

    def build_index(self, kind: str) -> Any:
        """A faiss IVF index over the vectors, or None for exact search."""
        if kind not in INDEX_KINDS:
            raise InputError(f"--index {kind!r}: must be one of {', '.join(INDEX_KINDS)}")
        if kind == "exact" or (kind == "auto" and len(self) < FAISS_FROM) or not len(self):
            return None
        import faiss

        lists = max(1, int(np.sqrt(len(self))))
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFFlat(quantizer, self.dim, lists, faiss.METRIC_INNER_PRODUCT)
        sample = self.matrix[np.random.default_rng(0).permutation(len(self))[: 40 * lists]]
        index.train(sample)
        index.add(self.matrix)
        index.nprobe = min(NPROBE, lists)
        return index

    def vector_of(self, rid: int) -> np.ndarray | None:
        """The saved vector of item `rid`, if it has one."""
        where = np.flatnonzero(self.rids == rid)
        return self.matrix[where[0]] if len(where) else None

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The `k` items most similar to `query` (rid, cosine), best first; `allowed` is a
        boolean mask over rids (the filters), None for all."""
        if query.shape != (self.dim,):
            raise InputError(
                f"query vector of dimension {query.shape[-1]} against saved embeddings of "
                f"dimension {self.dim}: the filter used another model"
            )
        query = (query / (np.linalg.norm(query) or 1.0)).astype(np.float32)
        if self.index is not None:
            found = self._approximate(query, k, allowed)
            if found is not None:
                return found
        scores = self.matrix @ query
        if allowed is not None:
            scores = np.where(allowed[self.rids], scores, -np.inf)
        top = min(k, int(np.isfinite(scores).sum()))
        best = np.argpartition(-scores, top - 1)[:top] if top else np.zeros(0, np.int64)
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(int(self.rids[i]), float(scores[i])) for i in best]

    def _approximate(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None
    ) -> list[tuple[int, float]] | None:
        """The faiss answer, or None when the filters leave fewer than `k` of its candidates
        (then the caller searches exactly)."""
        wanted = k if allowed is None else min(len(self), k * 20)
        scores, rows = self.index.search(query[None, :], wanted)
        found = [
            (int(self.rids[r]), float(s))
            for r, s in zip(rows[0], scores[0], strict=True)
            if r >= 0 and (allowed is None or allowed[self.rids[r]])
        ]
        return found[:k] if len(found) >= k or allowed is None else None


def encode_kept(
    catalog: Catalog, images: RawImages, encoder: QueryEncoder, kind: str = "auto"
) -> Vectors:
    """Image vectors computed now for the kept samples, with the filter's model, when the
    filter saved none (at most ON_DEMAND_MAX samples; kept in memory only)."""
    kept = catalog.query("SELECT rid, shard, key FROM items WHERE keep ORDER BY rid").to_pylist()
    if len(kept) > ON_DEMAND_MAX:
        raise InputError(
            f"{len(kept):,} kept samples and no saved embeddings: too many to encode on demand "
            f"(at most {ON_DEMAND_MAX:,}); run `wit-pipeline filter --save-embeddings`"
        )
    log.warning("no saved embeddings: encoding %d kept samples with the filter's model "
                "(filter --save-embeddings keeps them)", len(kept))  # fmt: skip
    rids, parts, batch, batch_rids = [], [], [], []
    for number, row in enumerate(kept):
        found = images.read(row["shard"], row["key"])
        if found is not None:
            try:
                batch.append(encoder.pixels(found[0], row["key"]))
                batch_rids.append(row["rid"])
            except InputError as exc:
                log.info("%s", exc)
        if batch and (len(batch) == ENCODE_BATCH or number == len(kept) - 1):
            parts.append(encoder.images(batch))
            rids += batch_rids
            batch, batch_rids = [], []
    if not parts:
        return Vectors(np.zeros(0, np.int64), np.zeros((0, 0), np.float32))
    vectors = Vectors(np.array(rids, np.int64), np.concatenate(parts).astype(np.float32))
    vectors.index = vectors.build_index(kind)
    return vectors

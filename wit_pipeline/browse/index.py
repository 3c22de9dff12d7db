"""`Index`: a workspace opened for looking inside: items listed and counted under filters,
searched by caption, by text or image through CLIP embeddings, one sample with its
duplicates, its image bytes, the funnel. Read-only: nothing in the workspace is written."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from wit_pipeline.browse import items
from wit_pipeline.browse.encoder import QueryEncoder
from wit_pipeline.browse.filters import Filters
from wit_pipeline.browse.images import RawImages
from wit_pipeline.browse.vectors import ON_DEMAND_MAX, Vectors, embedding_files, encode_kept
from wit_pipeline.catalog import Catalog, query_catalog
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.report.funnel import FunnelStep, funnel_steps

FIELDS = (
    "key", "shard", "keep", "reason", "why", "detail", "caption", "url", "page_url", "lang",
    "width", "height", "clip_score", "duplicate_of", "duplicate_edit", "duplicate_distance",
    "status", "error_message", "in_shards", "out_shard", "entries",
)  # fmt: skip
"""What a result says about its sample (JSON lines, the page)."""
MODES = ("auto", "images", "captions")
ANY = Filters()
"""No filter."""
BM25_K1, BM25_B = 1.2, 0.75
FACET_VALUES = 200


@dataclass(frozen=True)
class SearchResult:
    """One found sample: its rank, the similarity or BM25 score, what matched, its fields."""

    rank: int
    score: float | None
    match: str
    item: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The result as one JSON object (what `search --json` prints per line)."""
        return {"rank": self.rank, "score": self.score, "match": self.match, **self.item}


class Index:
    """One workspace's items in an in-memory DuckDB, its saved embeddings, its raw images."""

    def __init__(self, catalog: Catalog, index_kind: str = "auto", device: str = "cpu") -> None:
        self.catalog, self.workspace = catalog, catalog.workspace
        self.index_kind, self.device = index_kind, device
        self._lock = threading.RLock()
        if not catalog.has("decisions"):
            raise InputError(
                f"{self.workspace.decisions_path}: no decisions yet; run `wit-pipeline filter` "
                "first"
            )
        self.size = items.build(catalog)
        self.has_entry = catalog.has("entries")
        self.images = RawImages(self.workspace.raw_dir)
        self._postings = False
        self._vectors: Vectors | None = None
        self._encoder: QueryEncoder | None = None

    @classmethod
    @contextmanager
    def open(
        cls, workspace: Workspace, index_kind: str = "auto", device: str = "cpu"
    ) -> Iterator[Index]:
        """The workspace's index, its catalog connection closed on exit."""
        with ExitStack() as stack:
            catalog = stack.enter_context(query_catalog(workspace))
            yield cls(catalog, index_kind, device)

    # listing ---------------------------------------------------------------------------------

    def _where(self, filters: Filters) -> tuple[str, dict[str, Any]]:
        return filters.sql(self.has_entry)

    def count(self, filters: Filters) -> int:
        """How many items pass `filters`."""
        where, params = self._where(filters)
        with self._lock:
            return int(self.catalog.scalar(f"SELECT count(*) FROM items WHERE {where}", params))

    def page(self, filters: Filters, offset: int = 0, limit: int = 48) -> list[SearchResult]:
        """Items passing `filters` in workspace order, `limit` from `offset` (no query)."""
        where, params = self._where(filters)
        sql = (
            f"SELECT {', '.join(FIELDS)} FROM items WHERE {where} ORDER BY rid "
            f"LIMIT {int(limit)} OFFSET {int(offset)}"
        )
        with self._lock:
            rows = self.catalog.rows(sql, params)
        return [SearchResult(offset + i + 1, None, "filter", row) for i, row in enumerate(rows)]

    def item(self, key: str) -> dict[str, Any] | None:
        """The sample with `key` (keys are unique in a workspace), or None."""
        with self._lock:
            rows = self.catalog.rows(
                f"SELECT rid, {', '.join(FIELDS)} FROM items WHERE key = $key LIMIT 1",
                {"key": key},
            )
        return rows[0] if rows else None

    def head_scores(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        """The classifier heads' scores of a sample (head, score)."""
        with self._lock:
            return items.head_scores(self.catalog, item["shard"], item["key"])

    def duplicates(self, key: str) -> list[dict[str, Any]]:
        """The samples `key` is a duplicate of, and those that are duplicates of it."""
        with self._lock:
            return self.catalog.rows(
                f"SELECT {', '.join(FIELDS)} FROM items WHERE key = (SELECT duplicate_of FROM "
                "items WHERE key = $key) OR duplicate_of = $key ORDER BY rid LIMIT 200",
                {"key": key},
            )

    @functools.cached_property
    def facets(self) -> dict[str, list[tuple[str, int]]]:
        """Values to filter by, the commonest FACET_VALUES with counts: reasons, languages,
        entries (counted once: the index is a snapshot)."""
        queries = {
            "reason": "SELECT unnest(why) AS v, count(*) AS n FROM items GROUP BY 1",
            "lang": "SELECT lang AS v, count(*) AS n FROM items WHERE lang IS NOT NULL GROUP BY 1",
            "entry": "SELECT unnest(entries) AS v, count(*) AS n FROM items GROUP BY 1",
        }
        with self._lock:
            return {
                name: [
                    (r["v"], r["n"])
                    for r in self.catalog.rows(f"{sql} ORDER BY n DESC, v LIMIT {FACET_VALUES}")
                ]
                for name, sql in queries.items()
            }

    @functools.cached_property
    def funnel(self) -> list[FunnelStep]:
        """The report's funnel over this workspace (counted once)."""
        with self._lock:
            return funnel_steps(self.catalog, self.workspace)

    # search ----------------------------------------------------------------------------------

    def captions(
        self, query: str, filters: Filters = ANY, k: int = 20, offset: int = 0
    ) -> list[SearchResult]:
        """Captions matching `query`, most query words first, then by BM25."""
        where, params = self._where(filters)
        with self._lock:
            if not self._postings:
                items.build_postings(self.catalog, BM25_K1, BM25_B)
                self._postings = True
            terms = items.query_terms(self.catalog, query)
            if not terms:
                return []
            names = {f"term{i}": term for i, term in enumerate(terms)}
            allowed = "" if where == "TRUE" else f"AND rid IN (SELECT rid FROM items WHERE {where})"
            rows = self.catalog.rows(
                f"""WITH top AS (
                        SELECT rid, count(*) AS matched, sum(weight) AS score FROM postings
                        WHERE term IN ({", ".join(f"${n}" for n in names)}) {allowed}
                        GROUP BY rid ORDER BY matched DESC, score DESC, rid
                        LIMIT {int(k)} OFFSET {int(offset)})
                SELECT top.score, {", ".join(f"i.{f}" for f in FIELDS)}
                FROM top JOIN items i USING (rid)
                ORDER BY top.matched DESC, top.score DESC, i.rid""",
                {**params, **names},
            )
        return [
            SearchResult(offset + i + 1, float(row.pop("score")), "caption", row)
            for i, row in enumerate(rows)
        ]

    @property
    def vectors(self) -> Vectors:
        """The saved image embeddings, or the kept samples' encoded now; loaded and indexed
        on first use."""
        with self._lock:
            if self._vectors is None:
                files = embedding_files(self.workspace.scores_dir)
                if files:
                    self._vectors = Vectors.load(self.catalog, files, self.index_kind)
                else:
                    encoder = self.encoder()
                    self._vectors = encode_kept(self.catalog, self.images, encoder,
                                                self.index_kind)  # fmt: skip
            return self._vectors

    def has_embeddings(self) -> bool:
        """Whether the filter saved image embeddings (`filter --save-embeddings`)."""
        return bool(embedding_files(self.workspace.scores_dir))

    @functools.cached_property
    def clip_model(self) -> str | None:
        """The model the filter scored most samples with, if it used one."""
        with self._lock:
            return self.catalog.scalar(
                "SELECT clip_model FROM items WHERE clip_model IS NOT NULL "
                "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
            )

    def images_searchable(self) -> bool:
        """Whether image search can answer: embeddings saved, or few enough kept samples to
        encode on demand with the filter's model."""
        if self.has_embeddings():
            return True
        return self.clip_model is not None and self.count(Filters(keep=True)) <= ON_DEMAND_MAX

    def encoder(self) -> QueryEncoder:
        """The filter's CLIP model, loaded on first use."""
        with self._lock:
            if self._encoder is None:
                if self.clip_model is None:
                    raise InputError(
                        "search by text or image: the filter ran without a CLIP model; run "
                        "`wit-pipeline filter --clip-model ... --save-embeddings` or search "
                        "captions (--in captions)"
                    )
                self._encoder = QueryEncoder(self.clip_model, self.device)
            return self._encoder

    def _require_vectors(self) -> Vectors:
        if not self.has_embeddings() and self.clip_model is None:
            raise InputError(
                f"{self.workspace.scores_dir / 'embeddings'}: no saved embeddings and no CLIP "
                "model to compute them; run `wit-pipeline filter --clip-model ... "
                "--save-embeddings` (or search captions: --in captions)"
            )
        return self.vectors

    def nearest(
        self, vector: np.ndarray, filters: Filters = ANY, k: int = 20, match: str = "image"
    ) -> list[SearchResult]:
        """The `k` samples whose image embedding is closest to `vector`, under `filters`."""
        vectors = self._require_vectors()
        where, params = self._where(filters)
        allowed = None
        if where != "TRUE":
            with self._lock:
                rids = self.catalog.query(f"SELECT rid FROM items WHERE {where}", params)
            allowed = np.zeros(self.size, dtype=bool)
            allowed[rids.column("rid").to_numpy()] = True
        found = vectors.search(vector, k, allowed)
        by_rid = self._rows([rid for rid, _ in found])
        return [
            SearchResult(i + 1, score, match, by_rid[rid]) for i, (rid, score) in enumerate(found)
        ]

    def _rows(self, rids: list[int]) -> dict[int, dict[str, Any]]:
        if not rids:
            return {}
        with self._lock:
            rows = self.catalog.rows(
                f"SELECT rid, {', '.join(FIELDS)} FROM items WHERE rid IN (SELECT unnest($rids))",
                {"rids": rids},
            )
        return {row.pop("rid"): row for row in rows}

    def images_by_text(self, query: str, filters: Filters = ANY, k: int = 20) -> list[SearchResult]:
        """Images closest to a text, through the filter's CLIP model."""
        self._require_vectors()
        return self.nearest(self.encoder().text(query), filters, k, "text-image")

    def images_by_example(
        self, data: bytes, where: str, filters: Filters = ANY, k: int = 20
    ) -> list[SearchResult]:
        """Images closest to an example image (encoded bytes)."""
        self._require_vectors()
        return self.nearest(self.encoder().image(data, where), filters, k, "image-image")

    def images_like(self, key: str, filters: Filters = ANY, k: int = 20) -> list[SearchResult]:
        """Images closest to the saved embedding of sample `key`."""
        found = self.item(key)
        if found is None:
            raise InputError(f"--like {key!r}: no sample with that key in this workspace")
        vector = self._require_vectors().vector_of(found["rid"])
        if vector is None:
            raise InputError(f"--like {key!r}: that sample has no image embedding")
        return self.nearest(vector, filters, k, "image-image")

    def search(
        self,
        text: str | None = None,
        *,
        image: tuple[bytes, str] | None = None,
        like: str | None = None,
        mode: str = "auto",
        filters: Filters = ANY,
        k: int = 20,
    ) -> list[SearchResult]:
        """One search as the command line and the page ask it: an example image, a sample to
        find more like, or a text over images (CLIP) or captions (BM25); `auto` searches
        images when they can be (saved embeddings, or few kept samples and the filter's model),
        captions otherwise."""
        if mode not in MODES:
            raise InputError(f"--in {mode!r}: must be one of {', '.join(MODES)}")
        if image is not None:
            return self.images_by_example(image[0], image[1], filters, k)
        if like is not None:
            return self.images_like(like, filters, k)
        if not text:
            return self.page(filters, 0, k)
        if mode == "captions" or (mode == "auto" and not self.images_searchable()):
            return self.captions(text, filters, k)
        return self.images_by_text(text, filters, k)

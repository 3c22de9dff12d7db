"""Look inside a workspace: every raw sample with its decision, searched by caption (BM25 over
an inverted index in DuckDB), by text or example image (CLIP embeddings the filter saved,
exact or through faiss), filtered and paged; the `search` command and the `browse` web page
both read it through `Index`."""

from wit_pipeline.browse.filters import Filters
from wit_pipeline.browse.index import Index, SearchResult

__all__ = ["Filters", "Index", "SearchResult"]

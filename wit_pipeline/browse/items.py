"""The `items` table: one row per raw sample (every download input row the filter decided
on), with its caption, URL, page, language, scores, decision, every reason it was dropped
for, the metadata entries its caption matched (`filter --entries`), and whether it reached
the shards; plus the caption postings that full-text search reads.
Built once in memory from the catalog's views."""

from __future__ import annotations

from wit_pipeline.catalog import Catalog

TOKEN_PATTERN = r"[^\p{L}\p{N}]+"
"""Captions and queries are split on anything but letters and digits, lower-cased (DuckDB
tokenizes both, so they always agree)."""


def _columns(catalog: Catalog, view: str) -> set[str]:
    """The columns of a view (views of older runs may lack newer optional columns)."""
    return {row["column_name"] for row in catalog.rows(f"DESCRIBE SELECT * FROM {view}")}


def _optional(columns: set[str], alias: str, name: str, kind: str) -> str:
    """`alias.name`, or a typed NULL when the view has no such column."""
    return f"{alias}.{name}" if name in columns else f"NULL::{kind}"


def items_sql(catalog: Catalog) -> str:
    """The SELECT that builds `items` over whichever views exist (decisions is required)."""
    decided = _columns(catalog, "decisions")
    sampled = _columns(catalog, "samples") if catalog.has("samples") else set()
    scored = catalog.has("scores")
    joins, page = [], "NULL::VARCHAR"
    if sampled:
        joins.append("LEFT JOIN samples s USING (shard, key)")
    if scored:
        joins.append("LEFT JOIN scores c USING (shard, key)")
    if catalog.has("entries"):
        joins.append("LEFT JOIN entries e USING (shard, key)")
    if catalog.has("manifest"):
        joins.append(
            "LEFT JOIN (SELECT shard AS out_shard, raw_key, key AS out_key FROM manifest) m "
            "ON m.raw_key = d.key"
        )
    if catalog.has("pairs") and sampled:
        joins.append(
            "LEFT JOIN (SELECT url, any_value(page_url) AS page_url FROM pairs GROUP BY url) p "
            "ON p.url = s.url"
        )
        page = "p.page_url"
    status = _optional(sampled, "s", "status", "VARCHAR")
    error_code = _optional(sampled, "s", "error_code", "VARCHAR")
    score_error = "split_part(c.error, ':', 1)" if scored else "NULL::VARCHAR"
    reasons = _optional(decided, "d", "reasons", "VARCHAR[]")
    in_shards = "m.out_key IS NOT NULL" if catalog.has("manifest") else "FALSE"
    inner = f"""
        SELECT (row_number() OVER (ORDER BY d.shard, d.key) - 1)::INTEGER AS rid,
               d.key, d.shard, d.keep, d.reason, {reasons} AS reasons,
               {_optional(decided, "d", "detail", "VARCHAR")} AS detail,
               {_optional(decided, "d", "duplicate_of", "VARCHAR")} AS duplicate_of,
               {_optional(decided, "d", "duplicate_edit", "VARCHAR")}
                   AS duplicate_edit,
               {_optional(decided, "d", "duplicate_phash_distance", "SMALLINT")}
                   AS duplicate_distance,
               d.clip_score, d.clip_model, d.width, d.height,
               {"e.entries" if catalog.has("entries") else "NULL::VARCHAR[]"} AS entries,
               {_optional(sampled, "s", "caption", "VARCHAR")} AS caption,
               {_optional(sampled, "s", "url", "VARCHAR")} AS url,
               {page} AS page_url, {status} AS status,
               {_optional(sampled, "s", "error_message", "VARCHAR")} AS error_message,
               {"c.lang" if scored else "NULL::VARCHAR"} AS lang,
               {"c.error IS NULL AND c.key IS NOT NULL" if scored else "FALSE"} AS scored,
               {in_shards} AS in_shards,
               {"m.out_shard" if catalog.has("manifest") else "NULL::VARCHAR"} AS out_shard,
               list_filter(list_concat(
                   [d.reason, {error_code}, {score_error},
                    CASE WHEN {status} <> 'success' THEN {status} END],
                   coalesce({reasons}, [])), lambda x: x IS NOT NULL) AS every
        FROM decisions d {" ".join(joins)}
    """
    first_seen = "lambda x, i: list_position(every, x) = i"
    return f"SELECT * EXCLUDE (every), list_filter(every, {first_seen}) AS why FROM ({inner})"


def build(catalog: Catalog) -> int:
    """Create `items` in the catalog's connection; how many rows it holds."""
    catalog.connection.execute(f"CREATE TEMP TABLE items AS {items_sql(catalog)}")
    return int(catalog.scalar("SELECT count(*) FROM items"))


def build_postings(catalog: Catalog, k1: float, b: float) -> None:
    """The caption index: one posting per (term, item) with its BM25 weight computed now
    (idf, term frequency, caption length), sorted by term so a query reads only its terms'."""
    run = catalog.connection.execute
    run(
        f"""CREATE TEMP TABLE counts AS
            SELECT term, rid, count(*)::INTEGER AS tf FROM (
                SELECT rid, unnest(regexp_split_to_array(lower(caption), '{TOKEN_PATTERN}'))
                    AS term FROM items WHERE caption IS NOT NULL)
            WHERE term <> '' GROUP BY term, rid"""
    )
    run("CREATE TEMP TABLE lengths AS SELECT rid, sum(tf) AS len FROM counts GROUP BY rid")
    run("CREATE TEMP TABLE terms AS SELECT term, count(*) AS df FROM counts GROUP BY term")
    run(
        f"""CREATE TEMP TABLE postings AS
            WITH n AS (SELECT count(*) AS docs, avg(len) AS mean FROM lengths)
            SELECT c.term, c.rid, (ln(1 + (n.docs - t.df + 0.5) / (t.df + 0.5)) * c.tf
                * {k1 + 1} / (c.tf + {k1} * (1 - {b} + {b} * l.len / n.mean)))::FLOAT AS weight
            FROM counts c JOIN terms t USING (term) JOIN lengths l USING (rid) CROSS JOIN n
            ORDER BY c.term"""
    )
    for table in ("counts", "lengths", "terms"):
        run(f"DROP TABLE {table}")


def query_terms(catalog: Catalog, query: str) -> list[str]:
    """The distinct terms of a query, tokenized as captions are."""
    found = catalog.scalar(
        f"SELECT list_distinct(list_filter(regexp_split_to_array(lower($query), "
        f"'{TOKEN_PATTERN}'), lambda t: t <> ''))",
        {"query": query},
    )
    return sorted(found or [])


def head_scores(catalog: Catalog, shard: str, key: str) -> list[dict]:
    """The classifier heads' scores of one sample (`filter --classifier`), by head."""
    if not catalog.has("head_scores"):
        return []
    return catalog.rows(
        "SELECT head, score FROM head_scores WHERE shard = $shard AND key = $key ORDER BY head",
        {"shard": shard, "key": key},
    )

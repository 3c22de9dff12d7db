"""Distributions computed inside DuckDB, so the report reads counts per bin, never all rows."""

from __future__ import annotations

from dataclasses import dataclass

from wit_pipeline.catalog import Catalog


@dataclass(frozen=True)
class Histogram:
    """Counts of values in equal-width bins between `edges` (len(counts) + 1 edges)."""

    edges: list[float]
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


def histogram(catalog: Catalog, source: str, expression: str, bins: int = 40) -> Histogram | None:
    """Histogram of `expression` over the rows of `source` (a view or a subquery with its
    WHERE clause), nulls left out; None when there is no value."""
    values = f"SELECT ({expression})::DOUBLE AS x FROM {source}"
    bounds = catalog.rows(
        f"SELECT min(x) AS lo, max(x) AS hi FROM ({values}) WHERE x IS NOT NULL AND isfinite(x)"
    )[0]
    low, high = bounds["lo"], bounds["hi"]
    if low is None:
        return None
    if high == low:
        low, high, bins = low - 0.5, high + 0.5, 1
    width = (high - low) / bins
    counts = [0] * bins
    for row in catalog.rows(
        f"SELECT least(floor((x - $low) / $width)::BIGINT, {bins - 1}) AS bin, count(*) AS n "
        f"FROM ({values}) WHERE x IS NOT NULL AND isfinite(x) GROUP BY bin",
        {"low": low, "width": width},
    ):
        counts[row["bin"]] = row["n"]
    return Histogram([low + i * width for i in range(bins + 1)], counts)


def top_counts(catalog: Catalog, source: str, expression: str, limit: int) -> list[tuple]:
    """(value, count) of the `limit` most common values of `expression`, the rest summed as
    'other'."""
    rows = catalog.rows(
        f"SELECT coalesce(({expression})::VARCHAR, 'unknown') AS value, count(*) AS n "
        f"FROM {source} GROUP BY value ORDER BY n DESC, value"
    )
    top = [(r["value"], r["n"]) for r in rows[:limit]]
    rest = sum(r["n"] for r in rows[limit:])
    return top + ([("other", rest)] if rest else [])


def sql_string(value: str) -> str:
    """`value` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"

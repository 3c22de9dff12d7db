"""The download errors section: failures by error code, and the hosts that fail most."""

from __future__ import annotations

from wit_pipeline.catalog import Catalog
from wit_pipeline.report import plots
from wit_pipeline.report.html import Section, image, not_run, table

HOST = r"regexp_extract(url, '^[A-Za-z][A-Za-z0-9+.-]*://([^/:?#@]+)', 1)"
"""The host part of a URL, in SQL."""


def error_codes(catalog: Catalog) -> list[tuple[str, int]]:
    """(error code, failed rows), most common first; failures without a code by status."""
    rows = catalog.rows(
        "SELECT coalesce(error_code, status) AS code, count(*) AS n FROM samples "
        "WHERE status <> 'success' GROUP BY code ORDER BY n DESC, code"
    )
    return [(r["code"], r["n"]) for r in rows]


def failing_hosts(catalog: Catalog, limit: int) -> list[dict]:
    """The hosts with the most failed downloads: URLs, failures, share and commonest error."""
    return catalog.rows(
        f"SELECT {HOST} AS host, count(*) AS urls, "
        "count(*) FILTER (WHERE status <> 'success') AS failed, "
        "mode(error_code) FILTER (WHERE status <> 'success') AS top_error "
        "FROM samples GROUP BY host ORDER BY failed DESC, urls DESC, host LIMIT $limit",
        {"limit": limit},
    )


def downloads_section(catalog: Catalog, top_hosts: int) -> Section:
    """Failures by error code (chart and table) and the top failing hosts."""
    title = "Download errors"
    if not catalog.has("samples"):
        return Section(
            "downloads", title, not_run("the download", "wit-pipeline download"), ran=False
        )
    codes = error_codes(catalog)
    total = catalog.scalar("SELECT count(*) FROM samples")
    if not codes:
        return Section("downloads", title, f'<p class="note">All {total:,} downloads worked.</p>')
    failed = sum(n for _, n in codes)
    body = f'<p class="note">{failed:,} of {total:,} rows failed ({100 * failed / total:.1f}%).</p>'
    body += image(
        plots.horizontal_bars(codes, "failed downloads by error code", "rows"),
        "download errors by code",
        "plot",
    )
    body += "<h3>By error code</h3>" + table(["error code", "rows"], codes)
    hosts = failing_hosts(catalog, top_hosts)
    body += f"<h3>Top {len(hosts)} hosts by failures</h3>" + table(
        ["host", "URLs", "failed", "failed share", "commonest error"],
        [
            [
                h["host"],
                h["urls"],
                h["failed"],
                f"{100 * h['failed'] / h['urls']:.1f}%",
                h["top_error"] or "",
            ]
            for h in hosts
        ],
    )
    return Section("downloads", title, body)

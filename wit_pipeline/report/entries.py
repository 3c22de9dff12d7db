"""The metadata section: samples per entry before and after MetaCLIP balancing, shown when
filter ran with --entries."""

from __future__ import annotations

import re

from wit_pipeline.catalog import Catalog
from wit_pipeline.report import plots
from wit_pipeline.report.html import Section, esc, image, table

TOP_ENTRIES = 15
COUNTS_SQL = """
WITH matched AS (SELECT key, unnest(entries) AS entry FROM entries)
SELECT entry,
       count(*) FILTER (WHERE d.keep OR d.reason = 'balanced_out') AS before,
       count(*) FILTER (WHERE d.keep) AS after
FROM matched JOIN decisions AS d USING (key)
GROUP BY entry ORDER BY before DESC, entry
"""
"""Per entry: samples every rule but balancing keeps (before), and samples kept (after)."""


def balance_cap(catalog: Catalog) -> int | None:
    """The cap the last filter run balanced at, read back from a balanced_out detail
    ('red: 5000 > 1000'); None when balancing dropped nothing."""
    detail = catalog.scalar(
        "SELECT detail FROM decisions WHERE reason = 'balanced_out' AND detail IS NOT NULL LIMIT 1"
    )
    found = re.search(r"> (\d+)$", detail or "")
    return int(found.group(1)) if found else None


def entries_section(catalog: Catalog) -> Section:
    """Entry counts before and after balancing: a rank plot and the head entries."""
    title = "Metadata entries"
    counts = catalog.rows(COUNTS_SQL) if catalog.has("decisions") else []
    matched = catalog.scalar("SELECT count(*) FROM entries WHERE len(entries) > 0")
    total = catalog.scalar("SELECT count(*) FROM entries")
    note = (
        f'<p class="note">{matched:,} of {total:,} captions match an entry; '
        f"{len(counts):,} entries match a sample kept before balancing.</p>"
    )
    if not counts:
        return Section("entries", title, note)
    cap = balance_cap(catalog)
    before = [r["before"] for r in counts]
    after = [r["after"] for r in counts]
    body = note + image(plots.entry_counts(before, after, cap), "samples per entry", "plot")
    cap_text = f"{cap:,}" if cap is not None else "none (no sample was balanced out)"
    body += f'<p class="note">Balancing cap of the last filter run: {esc(cap_text)}.</p>'
    rows = [[r["entry"], r["before"], r["after"]] for r in counts[:TOP_ENTRIES]]
    body += "<h3>Head entries</h3>" + table(["entry", "before", "after"], rows)
    return Section("entries", title, body)

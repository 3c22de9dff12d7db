"""Sections that show pictures: duplicate groups side by side, each duplicate with the edit
that separates it from the kept sample and the distance of each signal, and grids of kept and
dropped samples per reason (thumbnail, caption, score)."""

from __future__ import annotations

from itertools import groupby

from wit_pipeline.catalog import Catalog
from wit_pipeline.report.html import Section, esc, image, not_run
from wit_pipeline.report.thumbnails import Thumbnails

CAPTION_CHARS = 140


SHOWABLE = "NOT list_contains(reasons, 'blocklisted')"
"""Blocklisted samples are counted (the funnel) but never shown: no thumbnail, caption or URL."""


def _thumb(thumbnails: Thumbnails, shard: str, key: str, alt: str) -> str:
    uri = thumbnails.uri(shard, key)
    return image(uri, alt) if uri else '<div class="noimg">no image</div>'


def duplicate_groups(catalog: Catalog, limit: int) -> list[list[dict]]:
    """The `limit` largest duplicate groups, kept sample first, each member with the edit and
    the distances (pHash and colour bits of the views that matched) to the kept one."""
    columns = {r["column_name"] for r in catalog.rows("DESCRIBE SELECT * FROM decisions")}
    # Decisions written before the texture signature have no such column.
    texture = "d.duplicate_texture_change" if "duplicate_texture_change" in columns else "NULL"
    rows = catalog.rows(
        "WITH groups AS (SELECT duplicate_of AS kept, count(*) AS n FROM decisions "
        f"WHERE duplicate_of IS NOT NULL AND {SHOWABLE} GROUP BY kept "
        "ORDER BY n DESC, kept LIMIT $limit), "
        "members AS (SELECT kept AS grp, kept AS key FROM groups UNION ALL "
        "SELECT duplicate_of, key FROM decisions WHERE duplicate_of IN (SELECT kept FROM groups) "
        f"AND {SHOWABLE}) "
        "SELECT g.kept AS grp, g.n, d.key, d.shard, d.duplicate_edit AS edit, "
        "d.duplicate_phash_distance AS phash_d, d.duplicate_colour_distance AS colour_d, "
        f"{texture} AS texture_d "
        "FROM members m "
        "JOIN groups g ON g.kept = m.grp JOIN decisions d ON d.key = m.key "
        "ORDER BY g.n DESC, g.kept, d.key <> g.kept, d.key",
        {"limit": limit},
    )
    return [list(members) for _, members in groupby(rows, key=lambda r: r["grp"])]


def _match_text(member: dict) -> str:
    """What separates a duplicate from its kept sample, for people."""
    if member["edit"] is None:
        return "same group"
    texture = "" if member["texture_d"] is None else f", texture {member['texture_d']:.2f}"
    return (
        f"{esc(member['edit'])}<br>pHash {member['phash_d']} bits, "
        f"colour {member['colour_d']} bits{texture}"
    )


def duplicates_section(catalog: Catalog, thumbnails: Thumbnails, limit: int) -> Section:
    """Duplicate groups as thumbnails side by side, kept one outlined, distances in bits."""
    title = "Duplicates"
    if not catalog.has("decisions"):
        return Section(
            "duplicates", title, not_run("the filter decisions", "wit-pipeline filter"), ran=False
        )
    totals = catalog.rows(
        "SELECT count(DISTINCT duplicate_of) AS groups, count(duplicate_of) AS dropped "
        "FROM decisions"
    )[0]
    body = (
        f'<p class="note">{totals["groups"]:,} groups of near duplicates; {totals["dropped"]:,} '
        "samples dropped as duplicates of another. Under each duplicate: what separates it from "
        "the kept sample (outlined), read from the views that matched (same framing, padding, "
        "a 4% or 8% crop, edges differ: the same centre, mirrored), and the bits that differ "
        "between them: pHash (of 64; --dedupe-distance) and colour hash (of 128; "
        "--dedupe-colour-distance for the same framing of both), and how far apart the two "
        "pictures' texture signatures are (edge orientations and grain; at most "
        "--dedupe-texture-change where the hashes are unsure: through a crop, or with a flat "
        "picture).</p>"
    )
    for members in duplicate_groups(catalog, limit):
        cells = "".join(
            f'<div class="dup{" kept" if i == 0 else ""}">'
            + _thumb(thumbnails, m["shard"], m["key"], f"sample {m['key']}")
            + f"{esc(m['key'])}<br>"
            + ("kept" if i == 0 else _match_text(m))
            + "</div>"
            for i, m in enumerate(members)
        )
        body += f'<div class="dup-group">{cells}</div>'
    return Section("duplicates", title, body)


def sample_rows(catalog: Catalog, per_reason: int) -> list[dict]:
    """Up to `per_reason` samples for each reason (kept first, then by how common the reason
    is), picked by a hash of the key so the same workspace shows the same samples."""
    return catalog.rows(
        "SELECT d.reason, count(*) OVER (PARTITION BY d.reason) AS n, d.key, d.shard, "
        "d.detail, d.clip_score, s.caption, s.url FROM decisions d JOIN samples s "
        f"USING (shard, key) WHERE {SHOWABLE.replace('reasons', 'd.reasons')} "
        "QUALIFY row_number() OVER (PARTITION BY d.reason ORDER BY md5(d.key)) <= $n_each "
        "ORDER BY d.reason <> 'kept', n DESC, d.reason, md5(d.key)",
        {"n_each": per_reason},
    )


def _card(thumbnails: Thumbnails, row: dict) -> str:
    caption = row["caption"] or ""
    if len(caption) > CAPTION_CHARS:
        caption = caption[: CAPTION_CHARS - 1] + "…"
    score = f"{row['clip_score']:.3f}" if row["clip_score"] is not None else "-"
    detail = f"<br>{esc(row['detail'])}" if row["detail"] else ""
    return (
        f'<div class="card" data-reason="{esc(row["reason"])}">'
        + _thumb(thumbnails, row["shard"], row["key"], caption or row["key"])
        + f"<b>{esc(row['key'])}</b> score {score}{detail}<br>{esc(caption)}</div>"
    )


def samples_section(catalog: Catalog, thumbnails: Thumbnails, per_reason: int) -> Section:
    """A grid of samples per reason."""
    title = "Samples kept and dropped"
    if not (catalog.has("decisions") and catalog.has("samples")):
        return Section(
            "samples", title, not_run("the filter decisions", "wit-pipeline filter"), ran=False
        )
    body = ""
    for reason, rows in groupby(sample_rows(catalog, per_reason), key=lambda r: r["reason"]):
        rows = list(rows)
        body += f"<h3>{esc(reason)} ({rows[0]['n']:,} samples)</h3>"
        body += '<div class="grid">' + "".join(_card(thumbnails, r) for r in rows) + "</div>"
    return Section("samples", title, body)

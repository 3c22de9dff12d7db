"""The funnel: images found -> pairs scraped -> download input -> downloaded -> scored -> kept
-> in shards, with what was lost after each step and why. Counts come from the catalog views,
so they equal what `wit-pipeline sql` answers over the same workspace."""

from __future__ import annotations

from dataclasses import dataclass, field

from wit_pipeline.catalog import Catalog
from wit_pipeline.core.markers import STAGE_UNIT, Markers
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.report.html import Section, esc, not_run, number, table


@dataclass(frozen=True)
class StepQuery:
    """How to count one step (over the views in `needs`), and the query of the reasons samples
    were lost before the next step (over the views in `losses_need`)."""

    step: str
    label: str
    needs: tuple[str, ...]
    count_sql: str
    losses_need: tuple[str, ...] = ()
    losses_sql: str | None = None


STEPS = (
    StepQuery("pairs", "pairs scraped", ("pairs",), "SELECT count(*) FROM pairs"),
    StepQuery(
        "input",
        "download input rows",
        ("samples",),
        "SELECT count(*) FROM samples",
        ("samples",),
        "SELECT coalesce(error_code, status) AS reason FROM samples WHERE status <> 'success'",
    ),
    StepQuery(
        "downloaded",
        "downloaded",
        ("samples",),
        "SELECT count(*) FROM samples WHERE status = 'success'",
        ("samples", "scores"),
        "SELECT split_part(c.error, ':', 1) AS reason FROM scores c JOIN samples s "
        "USING (shard, key) WHERE s.status = 'success' AND c.error IS NOT NULL",
    ),
    StepQuery(
        "scored",
        "decoded and scored",
        ("scores",),
        "SELECT count(*) FROM scores WHERE error IS NULL",
        ("scores", "decisions"),
        "SELECT d.reason FROM decisions d JOIN scores c USING (shard, key) "
        "WHERE c.error IS NULL AND NOT d.keep",
    ),
    StepQuery("kept", "kept", ("decisions",), "SELECT count(*) FROM decisions WHERE keep"),
    StepQuery("sharded", "in shards", ("manifest",), "SELECT count(*) FROM manifest"),
)


@dataclass(frozen=True)
class FunnelStep:
    """One step: how many samples reached it, and why samples were lost before the next step
    (reason, count), most common first."""

    step: str
    label: str
    count: int
    losses: list[tuple[str, int]] = field(default_factory=list)


def _reasons(catalog: Catalog, sql: str) -> list[tuple[str, int]]:
    rows = catalog.rows(
        f"SELECT reason, count(*) AS n FROM ({sql}) GROUP BY reason ORDER BY n DESC, reason"
    )
    return [(r["reason"], r["n"]) for r in rows]


def _scrape_step(workspace: Workspace) -> FunnelStep | None:
    """Images found on pages and why pairs were not made of them, from the scrape's stage
    marker (not a table, so not in the catalog)."""
    info = Markers(workspace.pairs_dir).info(STAGE_UNIT) or {}
    counts, dropped = info.get("counts", {}), info.get("dropped", {})
    if "images" not in counts:
        return None
    losses = sorted(((str(k), int(v)) for k, v in dropped.items()), key=lambda kv: -kv[1])
    return FunnelStep("found", "images found on pages", int(counts["images"]), losses)


def funnel_steps(catalog: Catalog, workspace: Workspace) -> list[FunnelStep]:
    """Every step whose stage has run, in pipeline order."""
    steps = [step for step in [_scrape_step(workspace)] if step is not None]
    for query in STEPS:
        if not all(catalog.has(view) for view in query.needs):
            continue
        known = query.losses_sql and all(catalog.has(view) for view in query.losses_need)
        losses = _reasons(catalog, query.losses_sql) if known else []
        steps.append(FunnelStep(query.step, query.label, catalog.scalar(query.count_sql), losses))
    return steps


def reason_table(catalog: Catalog) -> list[tuple[str, int, int]]:
    """Per filter rule: samples it dropped first (`reason`), and samples it applied to at all
    (`reasons`); 'kept' included."""
    rows = catalog.rows(
        "WITH first AS (SELECT reason, count(*) AS n FROM decisions GROUP BY reason), "
        "every AS (SELECT unnest(reasons) AS reason, count(*) AS n FROM decisions GROUP BY 1) "
        "SELECT reason, coalesce(first.n, 0) AS first_n, coalesce(every.n, first.n) AS any_n "
        "FROM first FULL JOIN every USING (reason) ORDER BY first_n DESC, reason"
    )
    return [(r["reason"], r["first_n"], r["any_n"]) for r in rows]


def _step_row(step: FunnelStep, first: int, largest: int) -> str:
    share = step.count / first if first else 0.0
    width = step.count / largest if largest else 0.0
    losses = ", ".join(f"{esc(reason)} {number(count)}" for reason, count in step.losses)
    return (
        f'<tr data-step="{step.step}" data-count="{step.count}">'
        f"<td>{esc(step.label)}</td>"
        f'<td class="num">{number(step.count)}</td>'
        f'<td class="num">{100 * share:.1f}%</td>'
        f'<td class="bar-cell"><div class="bar" style="width:{100 * width:.2f}%"></div></td>'
        f'<td class="losses">{losses}</td></tr>'
    )


def funnel_section(catalog: Catalog, workspace: Workspace) -> Section:
    """The funnel table with bars, then every filter reason."""
    steps = funnel_steps(catalog, workspace)
    if not steps:
        body = not_run("no pairs and no downloads", "wit-pipeline scrape")
        return Section("funnel", "Funnel", body, ran=False)
    largest = max(step.count for step in steps)
    rows = "".join(_step_row(step, steps[0].count, largest) for step in steps)
    body = (
        '<table class="funnel"><thead><tr><th>step</th><th class="num">samples</th>'
        '<th class="num">share</th><th></th><th>lost before the next step</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
    if catalog.has("decisions"):
        reasons = reason_table(catalog)
        body += "<h3>Every filter reason</h3>" + table(
            ["reason", "first reason of", "applied to"], reasons, css="reasons"
        )
        body += (
            '<p class="note">A sample is dropped for its first reason; "applied to" counts '
            "every sample the rule matched.</p>"
        )
    else:
        body += not_run("the filter decisions", "wit-pipeline filter")
    return Section("funnel", "Funnel", body)

"""The report of a test-web workspace: every section, every image embedded and decodable, the
funnel equal to SQL counts over the same workspace, and partial workspaces."""

import base64
import io
import json
import re
import shutil

import pyarrow.parquet as pq
import pytest
from PIL import Image

from tests.report.page import read_page
from wit_pipeline.cli import main
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.report import ReportOptions, build_report

SECTIONS = (
    "funnel",
    "clip",
    "images",
    "captions",
    "downloads",
    "duplicates",
    "samples",
    "timings",
    "training",
)
FUNNEL_SQL = {
    "pairs": "SELECT count(*) AS n FROM pairs",
    "input": "SELECT count(*) AS n FROM samples",
    "downloaded": "SELECT count(*) AS n FROM samples WHERE status = 'success'",
    "scored": "SELECT count(*) AS n FROM scores WHERE error IS NULL",
    "kept": "SELECT count(*) AS n FROM decisions WHERE keep",
    "sharded": "SELECT count(*) AS n FROM manifest",
}


def sql_rows(workspace: Workspace, query: str, capsys) -> list[dict]:
    """The rows `wit-pipeline sql --json` prints for `query`."""
    capsys.readouterr()
    assert main(["--workdir", str(workspace.root), "sql", "--json", query]) == 0
    return json.loads(capsys.readouterr().out)


def test_every_section_is_present_and_ran(report_html):
    page = read_page(report_html)
    assert list(page.sections) == list(SECTIONS)
    assert all(page.sections.values()), page.sections
    assert "not run yet" not in report_html


def test_every_image_is_embedded_and_decodes(report_html):
    page = read_page(report_html)
    assert page.external == []
    assert len(page.image_sources) >= 20
    kinds = set()
    for source in page.image_sources:
        assert source.startswith("data:image/"), source[:60]
        header, payload = source.split(",", 1)
        kinds.add(header)
        with Image.open(io.BytesIO(base64.b64decode(payload, validate=True))) as image:
            image.load()
            assert image.width > 0 and image.height > 0
    assert kinds == {"data:image/png;base64", "data:image/jpeg;base64"}


def test_funnel_equals_sql_counts(reported_workspace, report_html, capsys):
    page = read_page(report_html)
    for step, query in FUNNEL_SQL.items():
        assert page.funnel[step] == sql_rows(reported_workspace, query, capsys)[0]["n"], step
    assert page.funnel["kept"] == page.funnel["sharded"] > 0
    assert page.funnel["found"] > page.funnel["pairs"]
    reasons = sql_rows(
        reported_workspace, "SELECT reason, count(*) AS n FROM decisions GROUP BY reason", capsys
    )
    first_reasons = {k: v[0] for k, v in page.reasons.items() if v[0]}
    assert {r["reason"]: r["n"] for r in reasons} == first_reasons
    assert sum(v[0] for v in page.reasons.values()) == page.funnel["input"]


def test_funnel_losses_add_up(reported_workspace):
    from wit_pipeline.catalog import open_catalog
    from wit_pipeline.report.funnel import funnel_steps

    with open_catalog(reported_workspace) as catalog:
        steps = {s.step: s for s in funnel_steps(catalog, reported_workspace)}
    for step, after in (("input", "downloaded"), ("downloaded", "scored"), ("scored", "kept")):
        lost = sum(n for _, n in steps[step].losses)
        assert steps[step].count - lost == steps[after].count, step
    assert {"http_404", "timeout"} <= {reason for reason, _ in steps["input"].losses}


def test_sections_show_what_the_workspace_holds(reported_workspace, report_html):
    text = read_page(report_html).section_text
    assert "127.0.0.1" in text["downloads"]
    assert "Threshold of the last filter run: 0." in text["clip"]
    assert "0.28" in text["clip"]
    assert "kept (" in text["samples"] and "low_clip_score (" in text["samples"]
    assert "pHash" in text["duplicates"] and "kept" in text["duplicates"]
    assert "same framing" in text["duplicates"]
    assert re.search(r"colour \d+ bits, texture \d\.\d\d", text["duplicates"])
    assert "clip_score_dedupe" in text["training"] and "final_loss" in text["training"]
    assert "download" in text["timings"] and "rows/s" in text["timings"]
    assert "en" in text["captions"]


def test_partial_workspace_says_what_to_run(downloaded_testweb, tmp_path):
    workspace = Workspace(tmp_path / "w")
    shutil.copytree(downloaded_testweb, workspace.root)
    summary = build_report(workspace, ReportOptions(progress=False))
    page = read_page(summary.path.read_text(encoding="utf-8"))
    ran = {section for section, did in page.sections.items() if did}
    assert ran == {"funnel", "images", "captions", "downloads", "timings"}
    assert set(summary.not_run) == set(SECTIONS) - ran
    for section in ("clip", "duplicates", "samples"):
        assert "not run yet" in page.section_text[section]
        assert "wit-pipeline filter" in page.section_text[section]
    assert set(page.funnel) == {"input", "downloaded"}
    assert "4 not run yet: clip, duplicates, samples, training" in summary.line()


def test_decisions_of_an_older_version_still_show_their_duplicates(reported_workspace, tmp_path):
    workspace = Workspace(tmp_path / "w")
    shutil.copytree(reported_workspace.root, workspace.root)
    decisions = pq.read_table(workspace.root / "decisions.parquet")
    older = decisions.drop_columns(["duplicate_texture_change"])
    pq.write_table(older, workspace.root / "decisions.parquet")
    summary = build_report(workspace, ReportOptions(samples_per_reason=1, progress=False))
    text = read_page(summary.path.read_text(encoding="utf-8")).section_text["duplicates"]
    assert "same framing" in text and re.search(r"colour \d+ bits", text)
    assert "texture 0." not in text


def test_report_is_written_atomically_to_out(reported_workspace, tmp_path):
    workspace = Workspace(tmp_path / "w")
    shutil.copytree(reported_workspace.root, workspace.root)
    out = tmp_path / "elsewhere" / "r.html"
    summary = build_report(workspace, ReportOptions(out=out, samples_per_reason=1, progress=False))
    assert summary.path == out and out.stat().st_size == summary.bytes
    assert [p.name for p in out.parent.iterdir()] == ["r.html"]
    page = read_page(out.read_text(encoding="utf-8"))
    assert all(page.sections.values())
    assert f"{summary.images} images embedded" in summary.line()


@pytest.mark.parametrize("argument", ["--samples-per-reason", "--top-hosts"])
def test_bad_option_is_a_usage_error(reported_workspace, argument):
    with pytest.raises(SystemExit) as exit_info:
        main(["--workdir", str(reported_workspace.root), "report", argument, "0"])
    assert exit_info.value.code == 2

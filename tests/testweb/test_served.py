"""The ground truth against what the server really serves: images, pages and their markup."""

import re
from collections import deque

import pyarrow as pa
import requests

from wit_pipeline.testweb.faults import KINDS
from wit_pipeline.testweb.groundtruth import SCHEMA

from .helpers import decoded, image_refs, links

URL_FORMS = {
    "root_relative": r"/[^/]",
    "relative": r"\.\./",
    "base_href": r"[^/.:][^:]*$|\.\./fault/",
    "absolute": r"http://127\.0\.0\.1:\d+/",
    "protocol_relative": r"//127\.0\.0\.1:\d+/",
}


def test_ground_truth_has_one_row_per_url(testweb, testweb_web, testweb_truth):
    table = testweb_web.ground_truth(testweb.origin)
    assert isinstance(table, pa.Table)
    assert table.schema.equals(SCHEMA)
    urls = [row["url"] for row in testweb_truth]
    assert len(set(urls)) == len(urls) == table.num_rows
    assert all(row["url"] == testweb.origin + row["path"] for row in testweb_truth)
    assert {row["kind"] for row in testweb_truth} == set(KINDS)


def test_labels_agree_with_shapes_and_colours(testweb_truth):
    for row in testweb_truth:
        if not row["shapes"]:
            assert row["boilerplate"] == "spacer"
            continue
        assert row["label_shape"] == row["shapes"][0]
        assert len(row["colours"]) == len(row["shapes"])
        expected = None if row["mode"] == "L" else row["colours"][0]
        if row["kind"] == "ok":
            assert row["label_colour"] == expected


def test_every_ok_url_serves_the_image_the_ground_truth_describes(testweb_truth):
    ok = [row for row in testweb_truth if row["kind"] == "ok"]
    session = requests.Session()
    for row in ok:
        response = session.get(row["url"], timeout=5)
        assert response.status_code == row["http_status"] == 200
        assert response.headers["Content-Type"] == f"image/{row['format']}"
        assert decoded(response.content) == (
            row["format"],
            row["width"],
            row["height"],
            row["mode"],
        ), row["url"]


def test_exact_duplicates_are_served_identically(testweb_truth):
    groups: dict[int, dict[str, list[bytes]]] = {}
    for row in testweb_truth:
        if row["dup_kind"] in ("original", "exact"):
            body = requests.get(row["url"], timeout=5).content
            groups.setdefault(row["dup_group"], {}).setdefault(row["dup_kind"], []).append(body)
    exact = [g for g in groups.values() if "exact" in g]
    assert exact
    for group in exact:
        assert all(body == group["original"][0] for body in group["exact"])


def _fetch_pages(testweb, testweb_web):
    return {
        testweb.url(page.path): requests.get(testweb.url(page.path), timeout=5).text
        for page in testweb_web.plan.pages
    }


def test_pages_show_each_image_in_its_stated_markup(testweb, testweb_web, testweb_truth):
    pages = _fetch_pages(testweb, testweb_web)
    site_wide = {row["url"]: row for row in testweb_truth if row["page_url"] is None}
    for page_url, text in pages.items():
        refs = {ref.url: ref for ref in image_refs(page_url, text)}
        rows = [row for row in testweb_truth if row["page_url"] == page_url]
        assert set(refs) == {row["url"] for row in rows} | set(site_wide)
        for row in [*rows, *site_wide.values()]:
            ref = refs[row["url"]]
            assert ref.markup == row["markup"], row["url"]
            assert ref.caption == row["page_caption"], row["url"]
            assert ref.caption_source == row["caption_source"], row["url"]
            assert re.match(URL_FORMS[row["url_form"]], ref.raw), (ref.raw, row["url_form"])


def test_every_markup_and_url_form_is_used(testweb_truth):
    assert {row["markup"] for row in testweb_truth} == {
        "img_alt",
        "img",
        "figure",
        "srcset",
        "data_src",
        "in_link",
        "title",
    }
    assert {row["url_form"] for row in testweb_truth} == set(URL_FORMS)


def test_alt_texts_carry_html_entities(testweb, testweb_web):
    alts = re.findall(
        r'(?:alt|title)="([^"]*)"', "".join(_fetch_pages(testweb, testweb_web).values())
    )
    assert any(re.search(r"&#\d+;", alt) for alt in alts)
    assert any(re.search(r"&(?!amp;)[a-z]+;", alt) for alt in alts)


def test_mismatched_captions_belong_to_another_image(testweb_truth):
    mismatched = [row for row in testweb_truth if row["mismatched"]]
    assert len(mismatched) >= 2
    true_captions = {row["true_caption"] for row in mismatched}
    for row in mismatched:
        assert row["page_caption"] != row["true_caption"]
        assert row["page_caption"] in true_captions


def test_crawling_from_the_home_page_finds_every_page_and_url(testweb, testweb_web, testweb_truth):
    seen, queue, found = set(), deque([testweb.base_url]), set()
    while queue:
        url = queue.popleft()
        if url in seen or (not url.endswith(".html") and url != testweb.base_url):
            continue
        seen.add(url)
        text = requests.get(url, timeout=5).text
        found |= {ref.url for ref in image_refs(url, text)}
        queue.extend(link for link in links(url, text) if link.startswith(testweb.origin))
    pages = {testweb.url(p.path) for p in testweb_web.plan.pages}
    sections = {testweb.url(f"/section-{k}/index.html") for k in range(testweb_web.plan.sections)}
    assert pages | sections <= seen
    assert found == {row["url"] for row in testweb_truth}

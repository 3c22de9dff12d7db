"""Pages rendered from data: classifier head scores and matched entries on a sample's page,
escaped; funnel rows link only the steps a sample can be listed by."""

from wit_pipeline.browse import pages
from wit_pipeline.report.funnel import FunnelStep

ITEM = {name: None for name in pages.SHOWN_FIELDS} | {
    "key": "k1", "keep": False, "reason": "low_clip_score", "why": ["low_clip_score"],
    "caption": "a <b>", "url": "https://x.example/a.jpg", "page_url": None,
    "entries": ["red star", "<i>"],
}  # fmt: skip


def test_heads_and_entries_on_the_sample_page():
    html = pages.sample_page(ITEM, [], [{"head": "aesthetic<", "score": 0.25}])
    assert 'data-head="aesthetic&lt;"' in html and "0.25" in html
    assert 'href="/?entry=red+star"' in html and "&lt;i&gt;" in html and "<i>" not in html
    assert 'href="https://x.example/a.jpg"' in html and "a &lt;b&gt;" in html


def test_funnel_links_only_listable_steps():
    steps = [FunnelStep("found", "images found", 10, [("empty_caption", 2)]),
             FunnelStep("kept", "kept", 4)]  # fmt: skip
    html = pages.funnel_page(steps)
    assert 'href="/?step=kept"' in html and "step=found" not in html
    assert 'href="/?reason=empty_caption"' in html

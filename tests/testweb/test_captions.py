"""Captions: true to the scene in every language, varied in wording, safely HTML-encoded."""

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wit_pipeline.testweb import WebConfig
from wit_pipeline.testweb.entities import ENTITY_STYLES, encode_text
from wit_pipeline.testweb.plan import build_plan
from wit_pipeline.testweb.vocab import COLOURS, LANGUAGES, SHAPES, colour_word, noun, number_word


@pytest.fixture(scope="module")
def captioned():
    """Rows of a larger web whose page caption is their own true caption."""
    plan = build_plan(WebConfig(seed=3, pages=40, foreign_share=0.5, mismatch_share=0.0))
    return [s for s in plan.images if s.scene is not None and s.boilerplate == "none"]


def test_captions_name_every_shape_and_colour_in_their_language(captioned):
    assert {s.caption_lang for s in captioned} == set(LANGUAGES)
    for spec in captioned:
        text = spec.true_caption.lower()
        for obj in spec.scene.objects:
            name = noun(obj.shape, spec.caption_lang)
            assert name.singular.lower() in text or name.plural.lower() in text, spec.true_caption
            if not spec.scene.monochrome:
                assert colour_word(obj.colour, spec.caption_lang).lower() in text, spec.true_caption


def test_greyscale_captions_say_so_and_name_no_object_colour(captioned):
    greyscale = [s for s in captioned if s.scene.monochrome and s.caption_lang == "en"]
    assert greyscale
    for spec in greyscale:
        text = spec.true_caption.lower()
        assert re.search(r"black and white|greyscale|monochrome", text), text
        spoken = set(re.findall(r"[a-z]+", text.replace("black and white", "")))
        assert not spoken & (set(COLOURS) - {"grey"}), text


def test_counts_sizes_and_positions_are_true(captioned):
    english = [s for s in captioned if s.caption_lang == "en"]
    for spec in english:
        text = spec.true_caption.lower()
        if spec.scene.layout == "group":
            assert number_word(len(spec.scene.objects), "en") in text.split()
        if re.search(r"\bsmall\b", text):
            assert spec.scene.main.radius < 0.2
        if re.search(r"\blarge\b", text):
            assert spec.scene.main.radius > 0.3
        if "on the left" in text:
            assert spec.scene.main.x < 0.35
        if "on the right" in text:
            assert spec.scene.main.x > 0.65


def test_wording_varies(captioned):
    words = "|".join(
        sorted(
            {*SHAPES, *(noun(s, "en").plural for s in SHAPES), *COLOURS, "two", "three", "four"},
            key=len,
            reverse=True,
        )
    )
    skeletons = {
        re.sub(rf"\b({words}|an?)\b", "_", s.true_caption.lower())
        for s in captioned
        if s.caption_lang == "en"
    }
    assert len(skeletons) >= 15
    assert any(c.true_caption[0].isupper() for c in captioned)
    assert any(c.true_caption[0].islower() for c in captioned)


@given(
    st.text(st.characters(exclude_categories=("Cc", "Cs", "Cn"))),
    st.sampled_from(ENTITY_STYLES),
)
def test_encoded_text_decodes_to_itself(text, style):
    encoded = encode_text(text, style)
    assert html.unescape(encoded) == text
    assert not set(encoded) & {"<", ">", '"'}
    if style != "raw":
        assert encoded.isascii()


def test_styles_write_named_and_numeric_references():
    assert encode_text("café & crème", "named") == "caf&eacute; &amp; cr&egrave;me"
    assert encode_text("café", "numeric") == "caf&#233;"
    assert encode_text("child's", "raw") == "child&#x27;s"

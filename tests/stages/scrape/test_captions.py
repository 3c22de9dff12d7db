"""Caption rules drop UI chrome and file names, and name the reason."""

import pytest

from wit_pipeline.scoring.language import detect_language
from wit_pipeline.stages.scrape.captions import (
    CaptionRules,
    caption_drop_reason,
    is_boilerplate,
    is_filename_like,
)


@pytest.mark.parametrize(
    ("caption", "reason"),
    [
        ("", "empty_caption"),
        ("logo", "boilerplate"),
        ("a cat", None),
        ("cat", "too_short"),
        ("site logo", "boilerplate"),
        ("spacer image", "boilerplate"),
        ("click here", "boilerplate"),
        ("IMG_0042.JPG", "filename_like"),
        ("DSC01234", "filename_like"),
        ("20230101_120000", "filename_like"),
        ("Escopete", "too_few_words"),
        ("a small red star on a grey background", None),
        ("Escudo d'armas", None),
        ("x" * 1001, "too_long"),
    ],
)
def test_default_rules(caption, reason):
    assert caption_drop_reason(caption, CaptionRules()) == reason


def test_rules_are_adjustable():
    rules = CaptionRules(min_chars=1, min_words=1, drop_boilerplate=False)
    assert caption_drop_reason("logo", rules) is None
    assert caption_drop_reason("IMG_0042.JPG", rules) is None


def test_boilerplate_needs_a_boilerplate_word():
    assert not is_boilerplate("the main road")
    assert is_boilerplate("Company Logo")
    assert not is_filename_like("a photo of 2 cats")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("a small red star on a grey background", "en"),
        ("un círculo pequeño de color rojo sobre un fondo gris", "es"),
        ("une petite étoile de couleur verte sur un fond gris", "fr"),
    ],
)
def test_language_detection_ships_its_model(text, lang):
    assert detect_language(text) == lang

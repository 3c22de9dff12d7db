"""Short captions get their language right where py3langid alone did not."""

import pytest

from wit_pipeline.scoring.language import detect_language


@pytest.mark.parametrize(
    "text",
    [
        "my dog at the beach",
        "Opening hours",
        "Two pink squares",
        "photo of two green diamonds",
        "a crescent in greyscale",
        "three black diamonds",
    ],
)
def test_short_english_alt_texts_are_english(text):
    assert detect_language(text) == "en"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Drei Sterne in Braun", "de"),
        ("Vier Ringe in Blau", "de"),
        ("Horaires d'ouverture", "fr"),
        ("Un anneau de couleur violette sur un fond de couleur orange", "fr"),
        ("Nuestro equipo en la oficina", "es"),
        ("Una estrella amarilla", "es"),
    ],
)
def test_short_captions_in_other_languages(text, lang):
    assert detect_language(text) == lang


def test_whitespace_and_newlines_do_not_matter():
    assert detect_language("my dog\nat the   beach ") == detect_language("my dog at the beach")

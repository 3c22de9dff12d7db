"""Short captions get their language right where py3langid alone did not."""

import pytest

from wit_pipeline.scoring.language import (
    NORDIC,
    detect_language,
    lingua_nordic_confidences,
)


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


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        # Danish that fastText and py3langid both call Norwegian (lingua-py's test data)
        ("Hav jeres egen sang", "da"),
        ("Kan vi oprette en", "da"),
        ("Måske jeg bare", "da"),
        ("Køkkenet er naturligvis italiensk og", "da"),
        ("Mange hilsner fra", "da"),
        # the neighbours keep their language
        ("Hon var också med i", "sv"),
        ("Bruden kunde också föra med", "sv"),
        ("Referat fra utdanningskontorets besøk i", "no"),
        ("I tilknytning til pressekonferansen ble det", "no"),
    ],
)
def test_short_nordic_captions_are_told_apart(text, lang):
    assert detect_language(text) == lang


def test_lingua_names_the_four_nordic_languages_by_the_pipeline_codes():
    confidences = lingua_nordic_confidences("Måske jeg bare")
    assert set(confidences) == set(NORDIC)
    assert max(confidences, key=confidences.get) == "da"

"""Entry lists and MetaCLIP's substring matching through the Aho-Corasick automaton."""

import json

import pytest

from wit_pipeline.core.errors import InputError
from wit_pipeline.scoring.entries import (
    EntryMatcher,
    build_entries,
    caption_terms,
    parse_entries,
    spacing,
)

ENTRIES = ["red", "red circle", "circle", "St. Louis", "New York", "dog", "hot dog", "a"]
CAPTIONS = [
    "A red circle, on blue.",
    "red-circle",
    "hot dog stand in New York!",
    "circles and dogs",
    "Red circle",
    "visit St. Louis",
    "tab\tseparated\ndog",
    "a",
    "",
]


def reference(caption: str, entries: list[str]) -> list[int]:
    """MetaCLIP's published matching written out: one substring test per spaced entry."""
    text = spacing(caption)
    return [i for i, entry in enumerate(entries) if f" {entry} " in text]


@pytest.mark.parametrize("caption", CAPTIONS)
def test_automaton_matches_the_reference(caption):
    assert EntryMatcher(ENTRIES).match(caption) == reference(caption, ENTRIES)


def test_word_boundaries_case_and_punctuation():
    matcher = EntryMatcher(ENTRIES)
    names = lambda caption: [ENTRIES[i] for i in matcher.match(caption)]  # noqa: E731
    assert names("A red circle, on blue.") == ["red", "red circle", "circle"]  # not "a"
    assert names("red-circle") == []  # no space around either word
    assert names("circles and dogs") == []  # substrings must end at word boundaries
    assert names("Red circle") == ["circle"]  # case is kept, as MetaCLIP does
    assert names("visit St. Louis") == []  # the text's '.' is padded, the entry's is not
    assert names("hot dog") == ["dog", "hot dog"]
    assert names(None) == []


def test_entry_lists_from_text_or_json():
    assert parse_entries("red\n\n  blue \nred\n", "x").entries == ("red", "blue")
    assert parse_entries(json.dumps(["a b", "c"]), "x").entries == ("a b", "c")
    same = parse_entries("red\nblue\n", "one").fingerprint
    assert parse_entries('["red", "blue"]', "two").fingerprint == same
    assert parse_entries("blue\nred\n", "x").fingerprint != same
    for bad in ("", "\n \n", "[1]", "[oops"):
        with pytest.raises(InputError, match=r"^x: "):
            parse_entries(bad, "x")


def test_terms_and_built_lists():
    assert caption_terms("A red circle, on blue sky.") == {
        "red", "circle", "red circle", "blue", "sky", "blue sky",
    }  # fmt: skip
    captions = ["a red circle", "the red square", "a blue circle.", None, "red circle"]
    assert build_entries(captions, min_count=2, limit=10) == ["circle", "red", "red circle"]
    assert build_entries(captions, min_count=2, limit=1) == ["circle"]
    built = build_entries(captions, min_count=1, limit=100)
    assert all(reference(c, built) for c in captions if c)  # every caption matches its terms

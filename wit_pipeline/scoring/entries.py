"""Metadata entries (MetaCLIP): load an entry list, match captions against it, build one.

A caption matches an entry when the entry occurs in it as a substring between spaces, after
MetaCLIP's spacing of the text (`spacing`: punctuation that ends words padded with spaces,
tabs and newlines made spaces; entries and text keep their case). One Aho-Corasick automaton
(pyahocorasick) over the spaced entries finds every match in one scan of the caption, instead
of one substring test per entry.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from wit_pipeline.core import storage
from wit_pipeline.core.errors import InputError

PUNCTUATION_TO_WRAP = (",", ".", ";", ":", "?", "!", "`")
"""What MetaCLIP's `spacing` pads with spaces, so that "red," still matches the entry "red"."""
CHARS_TO_SPACE = ("\t", "\n", "\r")


def spacing(text: str) -> str:
    """The caption as MetaCLIP matches it: a space at each end, punctuation padded, tabs and
    newlines turned into spaces."""
    spaced = f" {text} "
    for punct in PUNCTUATION_TO_WRAP:
        spaced = spaced.replace(punct, f" {punct} ")
    for char in CHARS_TO_SPACE:
        spaced = spaced.replace(char, " ")
    return spaced


@dataclass(frozen=True)
class EntryList:
    """An ordered list of distinct entries and its fingerprint (the cache key of matches)."""

    entries: tuple[str, ...]
    source: str

    @cached_property
    def fingerprint(self) -> str:
        """`sha256:` of the entries in order: the same list from any file matches the same
        (computed once per list: every shard's marker is checked against it)."""
        digest = hashlib.sha256("\n".join(self.entries).encode("utf-8")).hexdigest()
        return f"sha256:{digest[:16]}"


def parse_entries(text: str, source: str) -> EntryList:
    """Entries from a file's text: MetaCLIP's JSON list of strings, or one entry per line.
    Blank lines and repeats are dropped (the first occurrence keeps its place)."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise InputError(f"{source}: not a JSON list of entries ({exc})") from None
        if not all(isinstance(entry, str) for entry in loaded):
            raise InputError(f"{source}: a JSON entry list holds only strings")
        lines: Iterable[str] = loaded
    else:
        lines = text.splitlines()
    entries = tuple(dict.fromkeys(e.strip() for e in lines if e.strip()))
    if not entries:
        raise InputError(f"{source}: no entries")
    return EntryList(entries, source)


def load_entries(path: str) -> EntryList:
    """The entry list in `path` (a local path or an fsspec URL)."""
    try:
        data = storage.read_bytes(path)
    except (OSError, FileNotFoundError) as exc:
        raise InputError(f"{path}: cannot read the entry list ({type(exc).__name__})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: the entry list is not UTF-8 text") from None
    return parse_entries(text, path)


class EntryMatcher:
    """Every entry of a list that a caption contains (MetaCLIP's substring matching), by one
    Aho-Corasick scan of the spaced caption."""

    def __init__(self, entries: Sequence[str]) -> None:
        import ahocorasick

        self.entries = tuple(entries)
        self._automaton = ahocorasick.Automaton()
        for index, entry in enumerate(self.entries):
            self._automaton.add_word(f" {entry} ", index)
        self._automaton.make_automaton()

    def match(self, caption: str | None) -> list[int]:
        """Indexes of the entries the caption contains, ascending (none for no caption)."""
        if not caption:
            return []
        return sorted({index for _, index in self._automaton.iter(spacing(caption))})


_MATCHERS: dict[str, EntryMatcher] = {}


def matcher_for(entry_list: EntryList) -> EntryMatcher:
    """One automaton per process and entry list, shared by every shard it matches."""
    key = entry_list.fingerprint
    if key not in _MATCHERS:
        _MATCHERS.clear()
        _MATCHERS[key] = EntryMatcher(entry_list.entries)
    return _MATCHERS[key]


STOPWORDS = frozenset(
    ("a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "its",
     "of", "on", "or", "that", "the", "this", "to", "with")
)  # fmt: skip
"""Words that are never entries, nor part of a bigram entry (in nearly every caption, they
would balance nothing)."""


def caption_terms(caption: str) -> set[str]:
    """A caption's words and bigrams as MetaCLIP's matching sees them: tokens of the spaced
    caption; punctuation and doubled spaces break bigrams; terms with a stopword are left out."""
    terms: set[str] = set()
    previous: str | None = None
    for token in spacing(caption).split(" "):
        if not token or token in PUNCTUATION_TO_WRAP:
            previous = None
            continue
        if token.lower() in STOPWORDS:
            previous = None
            continue
        terms.add(token)
        if previous is not None:
            terms.add(f"{previous} {token}")
        previous = token
    return terms


def build_entries(captions: Iterable[str | None], min_count: int, limit: int) -> list[str]:
    """An entry list from captions: words and bigrams in at least `min_count` captions, the
    `limit` most frequent (ties by the term), most frequent first."""
    counts: Counter[str] = Counter()
    for caption in captions:
        if caption:
            counts.update(caption_terms(caption))
    frequent = [(term, n) for term, n in counts.items() if n >= min_count]
    frequent.sort(key=lambda item: (-item[1], item[0]))
    return [term for term, _ in frequent[:limit]]

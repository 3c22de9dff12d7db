"""What a search or a listing is narrowed to: keep or drop, a reason, a language, a funnel step,
image size and CLIP score ranges, a metadata entry (balancing); turned into one SQL condition
with parameters over the `items` table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wit_pipeline.core.errors import InputError

STEPS = {
    "input": "TRUE",
    "downloaded": "status = 'success'",
    "scored": "scored",
    "kept": "keep",
    "sharded": "in_shards",
}
"""Funnel steps a sample can be listed by (the report's funnel names), as conditions."""


@dataclass(frozen=True)
class Filters:
    """Conditions on samples; None means any."""

    keep: bool | None = None
    reason: str | None = None
    lang: str | None = None
    step: str | None = None
    entry: str | None = None
    min_side: int | None = None
    max_side: int | None = None
    min_score: float | None = None
    max_score: float | None = None

    def __post_init__(self) -> None:
        if self.step is not None and self.step not in STEPS:
            raise InputError(f"step {self.step!r}: must be one of {', '.join(STEPS)}")

    def sql(self, has_entry: bool = False) -> tuple[str, dict[str, Any]]:
        """A WHERE condition over `items` and its named parameters."""
        if self.entry is not None and not has_entry:
            raise InputError("entry: no metadata entries in this workspace (filter --entries)")
        parts, params = ["TRUE"], {}
        for name, condition in (
            ("reason", "list_contains(why, $reason)"),
            ("lang", "lang = $lang"),
            ("entry", "list_contains(entries, $entry)"),
            ("min_side", "least(width, height) >= $min_side"),
            ("max_side", "least(width, height) <= $max_side"),
            ("min_score", "clip_score >= $min_score"),
            ("max_score", "clip_score <= $max_score"),
        ):
            value = getattr(self, name)
            if value is not None:
                parts.append(condition)
                params[name] = value
        if self.keep is not None:
            parts.append("keep" if self.keep else "NOT coalesce(keep, FALSE)")
        if self.step is not None:
            parts.append(STEPS[self.step])
        return " AND ".join(parts), params

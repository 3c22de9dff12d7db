"""When two samples are duplicates and how duplicates group: plain values, light to import,
so the command line can show the defaults without loading numpy and scipy."""

from __future__ import annotations

from dataclasses import dataclass

GROUPINGS = ("kept", "transitive")
"""`kept`: a sample is a duplicate when a confirmed pair joins it to a better sample that is
kept (no chains); `transitive`: connected components of the confirmed pairs."""


@dataclass(frozen=True)
class DedupeRule:
    """When two samples are duplicates, and how duplicates are grouped."""

    max_distance: int = 8
    max_colour_distance: int = 8
    max_aspect_change: float = 0.15
    grouping: str = "kept"

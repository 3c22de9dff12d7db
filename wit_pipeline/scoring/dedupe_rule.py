"""When two samples are duplicates and how duplicates group: plain values, light to import,
so the command line can show the defaults without loading numpy and scipy."""

from __future__ import annotations

from dataclasses import dataclass

GROUPINGS = ("kept", "transitive")
"""`kept`: a sample is a duplicate when a confirmed pair joins it to a better sample that is
kept (no chains); `transitive`: connected components of the confirmed pairs."""


@dataclass(frozen=True)
class DedupeRule:
    """When two samples are duplicates, and how duplicates are grouped.

    Two samples are duplicates when a view of one and a view of the other (see
    `wit_pipeline.scoring.views`) agree: their pHashes within `max_distance` (two index views)
    or `crop_distance` (a crop view and an index view, or two crop views of one region), their
    colour hashes within `max_colour_distance` (the same framing: two whole pictures, two crops
    of one region; `close_colour_slack` more when their pHashes are within `close_distance`: a
    brightened copy of a saturated picture) or
    `reframed_colour_distance` (an unpadded or cropped view: it meets its copy a pixel or two
    off; `deep_crop_colour_distance` for the 8% crop view, which sees less of the picture, so
    distinct pictures agree there more often by chance), their aspect ratios within
    `max_aspect_change` (log of the ratio), and their texture signatures within
    `max_texture_change` (`wit_pipeline.scoring.texture_signature`) when one view is a crop,
    one picture is textured and the other flat, or both are flat with pHashes more than
    `close_distance` apart (two textured pictures seen whole, unpadded or not, skip it)."""

    max_distance: int = 8
    max_colour_distance: int = 8
    max_aspect_change: float = 0.15
    grouping: str = "kept"
    crop_distance: int = 6
    reframed_colour_distance: int = 14
    deep_crop_colour_distance: int = 8
    close_distance: int = 2
    close_colour_slack: int = 2
    max_texture_change: float = 0.4

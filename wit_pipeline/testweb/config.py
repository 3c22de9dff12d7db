"""The knobs of the synthetic web: size, noise shares and fault timings, checked on creation."""

from __future__ import annotations

from dataclasses import dataclass, fields

_SHARES = (
    "foreign_share",
    "mismatch_share",
    "exact_dup_share",
    "near_dup_share",
    "too_small_share",
    "extreme_aspect_share",
    "boilerplate_share",
    "large_share",
)
_SLOT_SHARES = (
    "exact_dup_share",
    "near_dup_share",
    "too_small_share",
    "extreme_aspect_share",
    "boilerplate_share",
)


@dataclass(frozen=True)
class WebConfig:
    """Everything that decides the synthetic web; the same config always gives the same bytes.

    Shares are fractions of the content image slots (`pages * images_per_page`); a share above
    zero yields at least one such image. Each fault kind appears `faults_per_kind` times, on top
    of the content slots. Timings are in seconds and bound every fault endpoint.
    """

    seed: int = 0
    pages: int = 20
    images_per_page: int = 8
    pages_per_section: int = 10
    foreign_share: float = 0.1
    mismatch_share: float = 0.05
    exact_dup_share: float = 0.03
    near_dup_share: float = 0.05
    too_small_share: float = 0.02
    extreme_aspect_share: float = 0.02
    boilerplate_share: float = 0.05
    large_share: float = 0.05
    faults_per_kind: int = 1
    slow_seconds: float = 3.0
    drip_interval: float = 1.0
    drip_seconds: float = 20.0
    retry_after: int = 1
    huge_bytes: int = 256 * 2**20
    concept_skew: float = 0.0
    """Zipf exponent of the shapes' and colours' frequencies (`scene.concept_weights`): 0 draws
    them uniformly (the default pool); 1 or more makes a long-tailed pool, as real alt texts
    are, with shapes and colours ranked in `vocab.SHAPES` and `vocab.COLOURS` order."""

    def __post_init__(self) -> None:
        for name in ("pages", "images_per_page", "pages_per_section"):
            if getattr(self, name) < 1:
                raise ValueError(f"WebConfig.{name} must be at least 1, got {getattr(self, name)}")
        if self.seed < 0:
            raise ValueError(f"WebConfig.seed must be non-negative, got {self.seed}")
        if self.faults_per_kind < 0:
            raise ValueError(f"WebConfig.faults_per_kind must be >= 0, got {self.faults_per_kind}")
        for name in _SHARES:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"WebConfig.{name} must be within [0, 1], got {value}")
        slot_total = sum(getattr(self, name) for name in _SLOT_SHARES)
        if slot_total > 0.8:
            raise ValueError(
                f"WebConfig shares {', '.join(_SLOT_SHARES)} add up to {slot_total:.2f}; "
                "keep them at most 0.8 so ordinary images remain"
            )
        for name in ("slow_seconds", "drip_interval", "drip_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"WebConfig.{name} must be positive, got {getattr(self, name)}")
        if self.retry_after < 1:
            raise ValueError(f"WebConfig.retry_after must be at least 1, got {self.retry_after}")
        if not 0.0 <= self.concept_skew <= 4.0:
            raise ValueError(
                f"WebConfig.concept_skew must be within [0, 4], got {self.concept_skew}"
            )
        if self.huge_bytes < 2**20:
            raise ValueError(f"WebConfig.huge_bytes must be at least 1 MiB, got {self.huge_bytes}")

    def as_dict(self) -> dict[str, object]:
        """The config as plain JSON-able values."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

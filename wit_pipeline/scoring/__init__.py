"""Scoring: CLIP scores, perceptual hashes and the near-duplicate index."""

from wit_pipeline.scoring.near_duplicates import duplicate_groups, near_duplicate_pairs

__all__ = ["duplicate_groups", "near_duplicate_pairs"]

"""Filter stage: per-sample scores (size, pHash, language, CLIP) and auditable decisions."""

from wit_pipeline.stages.filter.decide import DecideOptions
from wit_pipeline.stages.filter.stage import FilterSummary, ScoreOptions, filter_stage

__all__ = ["DecideOptions", "FilterSummary", "ScoreOptions", "filter_stage"]

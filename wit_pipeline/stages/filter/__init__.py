"""Filter stage: per-sample scores (size, pHash, language, CLIP) and auditable decisions."""

from wit_pipeline.core.stage import Stage, lazy_exports
from wit_pipeline.stages.filter.layout import OUTPUTS, timing
from wit_pipeline.stages.filter.options import Options

STAGE = Stage(
    name="filter",
    help="score raw samples (CLIP, pHash, size, language) and decide what to keep",
    options=Options,
    entry="wit_pipeline.stages.filter.stage:run",
    command="filter",
    outputs=OUTPUTS,
    timing=timing,
)

__getattr__ = lazy_exports(
    __name__,
    {
        "DecideOptions": "decide",
        "FilterSummary": "stage",
        "ScoreOptions": "stage",
        "filter_stage": "stage",
    },
)
__all__ = ["STAGE", "DecideOptions", "FilterSummary", "Options", "ScoreOptions", "filter_stage"]

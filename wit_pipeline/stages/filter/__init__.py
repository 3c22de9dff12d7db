"""Filter stage: per-sample scores (size, pHash, language, CLIP) and auditable decisions."""

from wit_pipeline.core.stage import Stage, lazy_exports
from wit_pipeline.stages.filter.layout import OUTPUTS, timing
from wit_pipeline.stages.filter.options import Options

HELP = "score raw samples (CLIP, pHash, size, language) and decide what to keep"
STAGE = Stage(
    "filter", HELP, Options, f"{__name__}.stage:run", OUTPUTS, timing, on_object_storage=True
)

__getattr__ = lazy_exports(
    __name__, decide=("DecideOptions",), stage=("FilterSummary", "ScoreOptions", "filter_stage")
)
__all__ = ["STAGE", "DecideOptions", "FilterSummary", "Options", "ScoreOptions", "filter_stage"]

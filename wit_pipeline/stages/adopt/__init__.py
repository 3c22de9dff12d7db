"""Adopt stage: an existing img2dataset output folder taken over as raw/, without downloading."""

from wit_pipeline.core.stage import Stage, lazy_exports
from wit_pipeline.stages.adopt.layout import OUTPUTS
from wit_pipeline.stages.adopt.options import Options

HELP = "take over an img2dataset output folder as raw/ (no download)"
STAGE = Stage("adopt", HELP, Options, f"{__name__}.stage:run", OUTPUTS, optional=True)

__getattr__ = lazy_exports(__name__, stage=("AdoptSummary", "adopt"))
__all__ = ["STAGE", "AdoptSummary", "Options", "adopt"]

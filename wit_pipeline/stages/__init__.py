"""The pipeline's stages, in order: each sub-package declares one `Stage` (core.stage)."""

from __future__ import annotations

from wit_pipeline.core.errors import InputError
from wit_pipeline.core.stage import Stage
from wit_pipeline.stages.adopt import STAGE as ADOPT
from wit_pipeline.stages.download import STAGE as DOWNLOAD
from wit_pipeline.stages.filter import STAGE as FILTER
from wit_pipeline.stages.report import STAGE as REPORT
from wit_pipeline.stages.scrape import STAGE as SCRAPE
from wit_pipeline.stages.shard import STAGE as SHARD
from wit_pipeline.stages.train import STAGE as TRAIN

PIPELINE: tuple[Stage, ...] = (SCRAPE, DOWNLOAD, ADOPT, FILTER, SHARD, REPORT, TRAIN)
NAMES = tuple(stage.name for stage in PIPELINE)


def stage_named(name: str) -> Stage:
    """The stage called `name`; InputError naming the stages otherwise."""
    for stage in PIPELINE:
        if stage.name == name:
            return stage
    raise InputError(f"{name}: not a stage ({', '.join(NAMES)})")

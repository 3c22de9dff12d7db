"""Shard stage: the kept samples as shuffled, deterministic WebDataset shards, and their check."""

from wit_pipeline.core.stage import Stage, lazy_exports
from wit_pipeline.stages.shard.layout import OUTPUTS, timing
from wit_pipeline.stages.shard.options import Options

STAGE = Stage(
    name="shard",
    help="write the kept samples as shuffled WebDataset shards",
    options=Options,
    entry="wit_pipeline.stages.shard.stage:run",
    command="shard",
    outputs=OUTPUTS,
    timing=timing,
)

__getattr__ = lazy_exports(
    __name__,
    {"ShardSummary": "stage", "write_shards": "stage", "verify_shards": "verify"},
)
__all__ = ["STAGE", "Options", "ShardSummary", "verify_shards", "write_shards"]

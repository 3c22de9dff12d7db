"""Shard stage: the kept samples as shuffled, deterministic WebDataset shards, and their check."""

from wit_pipeline.core.stage import Stage, lazy_exports
from wit_pipeline.stages.shard.layout import OUTPUTS, timing
from wit_pipeline.stages.shard.options import Options

HELP = "write the kept samples as shuffled WebDataset shards"
STAGE = Stage(
    "shard", HELP, Options, f"{__name__}.stage:run", OUTPUTS, timing, on_object_storage=True
)

__getattr__ = lazy_exports(
    __name__, stage=("ShardSummary", "write_shards"), verify=("verify_shards",)
)
__all__ = ["STAGE", "Options", "ShardSummary", "verify_shards", "write_shards"]

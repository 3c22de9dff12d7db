"""Shard stage: the kept samples as shuffled, deterministic WebDataset shards, and their check."""

from wit_pipeline.stages.shard.stage import ShardSummary, write_shards
from wit_pipeline.stages.shard.verify import verify_shards

__all__ = ["ShardSummary", "verify_shards", "write_shards"]

"""Table contracts as data: one JSON file per table, loaded by wit_pipeline.core.schemas."""

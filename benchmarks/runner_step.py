"""Run one stage of a pipeline config through the runner (`load_config` + `run_pipeline`), as
the Airflow DAG's tasks do, in this process: what the scale study measures, one stage per
process. (Not through the `wit-pipeline` command line, whose parser imports every command
module, train's torch and open_clip included, whatever the stage.)

    python benchmarks/runner_step.py CONFIG.yaml STAGE
"""

from __future__ import annotations

import sys

from wit_pipeline.config import load_config
from wit_pipeline.runner import run_pipeline


def main(argv: list[str]) -> int:
    """Run STAGE of CONFIG (forced, quiet) and print its summary line."""
    config_path, stage = argv
    (outcome,) = run_pipeline(
        load_config(config_path), from_stage=stage, to_stage=stage, force=True, quiet=True
    )
    print(outcome.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

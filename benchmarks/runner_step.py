"""Run one stage of a pipeline config through the runner (`load_config` + `run_pipeline`), as
the Airflow DAG's tasks do, in this process: what the scale study measures, one stage per
process. (Not through the `wit-pipeline` command line, whose parser imports every command
module, train's torch and open_clip included, whatever the stage.) Prints the stage's summary
and a digest of the repository's source files this process imported, so that figures of two
runs are compared only when they ran the same code.

    python benchmarks/runner_step.py CONFIG.yaml STAGE
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIGEST_PREFIX = "code digest: "
PACKAGES = ("wit_pipeline", "train_small")


def imported_sources_digest() -> str:
    """sha256 (12 hex digits) over the project's package files loaded in this process."""
    loaded = {getattr(m, "__file__", None) for m in list(sys.modules.values())}
    files = sorted(
        path.relative_to(ROOT)
        for path in (Path(f).resolve() for f in loaded if f)
        if path.is_relative_to(ROOT) and path.relative_to(ROOT).parts[0] in PACKAGES
    )
    digest = hashlib.sha256()
    for relative in files:
        digest.update(relative.as_posix().encode() + b"\0" + (ROOT / relative).read_bytes())
    return digest.hexdigest()[:12]


def main(argv: list[str]) -> int:
    """Run STAGE of CONFIG (forced, quiet); print its summary line and the code digest."""
    from wit_pipeline.config import load_config
    from wit_pipeline.runner import run_pipeline

    config_path, stage = argv
    (outcome,) = run_pipeline(
        load_config(config_path), from_stage=stage, to_stage=stage, force=True, quiet=True
    )
    print(outcome.describe())
    print(f"{DIGEST_PREFIX}{imported_sources_digest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The Python API: each stage as a function taking keyword options with the command line's
names and defaults (`download("urls.parquet", workdir="w", image_size=384)`), checked and
converted as a run config's are, run through the same runner as the command line; each returns
the runner's `StageOutcome` (`.line`, the summary line; `.summary`, its facts as a dict).

    from wit_pipeline import api
    api.adopt("/data/img2dataset-out", workdir="w")
    api.filter(workdir="w", min_clip_score=0.28)
    api.shard(workdir="w", samples_per_shard=5000)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wit_pipeline.config import config_from_dict, load_config
from wit_pipeline.core.executor import Engine
from wit_pipeline.core.options import from_mapping
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.metadata.select import Rule, SelectSummary
from wit_pipeline.runner import StageOutcome, execute, run_pipeline
from wit_pipeline.stages import stage_named

PathLike = str | Path


def run_stage(
    name: str,
    workdir: PathLike | None = None,
    *,
    engine: str | None = None,
    ray_address: str | None = None,
    progress: bool = False,
    **options: Any,
) -> StageOutcome:
    """Run stage `name` on the workspace `workdir` (default: $WIT_WORKDIR or ./wit-data) with
    `options` (None values: the default); InputError on a bad option, before any work."""
    stage = stage_named(name)
    given = {k: str(v) if isinstance(v, Path) else v for k, v in options.items() if v is not None}
    settings = from_mapping(stage.options, given, f"wit_pipeline.api.{name}()", "")
    resolved = Engine.resolve(
        engine, ray_address, required=settings.required_engine(), progress=progress
    )
    return execute(Workspace.at(workdir), stage, settings, resolved)


def scrape(*sources: PathLike, workdir: PathLike | None = None, **options: Any) -> StageOutcome:
    """Pages, WARCs or folders -> pairs/ (`wit-pipeline scrape`)."""
    return run_stage("scrape", workdir, sources=[str(s) for s in sources] or None, **options)


def download(
    input: PathLike | None = None, *, workdir: PathLike | None = None, **options: Any
) -> StageOutcome:
    """URL table (default: the workspace's pairs) -> raw/ (`wit-pipeline download`)."""
    return run_stage("download", workdir, input=input, **options)


def adopt(path: PathLike, *, workdir: PathLike | None = None, **options: Any) -> StageOutcome:
    """An img2dataset output folder -> raw/, without downloading (`wit-pipeline adopt`)."""
    return run_stage("adopt", workdir, path=path, **options)


def filter(*, workdir: PathLike | None = None, **options: Any) -> StageOutcome:
    """raw/ -> scores and decisions.parquet (`wit-pipeline filter`)."""
    return run_stage("filter", workdir, **options)


def shard(*, workdir: PathLike | None = None, **options: Any) -> StageOutcome:
    """Kept samples -> shuffled shards (`wit-pipeline shard`)."""
    return run_stage("shard", workdir, **options)


def report(*, workdir: PathLike | None = None, **options: Any) -> StageOutcome:
    """The workspace -> report/index.html (`wit-pipeline report`)."""
    return run_stage("report", workdir, **options)


def run(
    config: PathLike | Mapping[str, Any],
    *,
    from_stage: str | None = None,
    to_stage: str | None = None,
    force: bool = False,
) -> list[StageOutcome]:
    """Every stage of a run config (a YAML path or the same mapping), as `wit-pipeline run`."""
    if isinstance(config, Mapping):
        loaded = config_from_dict(dict(config), "wit_pipeline.api.run()")
    else:
        loaded = load_config(config)
    return run_pipeline(loaded, from_stage=from_stage, to_stage=to_stage, force=force, quiet=True)


def select(
    metadata: PathLike,
    out: PathLike,
    *,
    min: Mapping[str, float] | None = None,
    max: Mapping[str, float] | None = None,
    keep: Mapping[str, Sequence[str]] | None = None,
    drop: Mapping[str, Sequence[str]] | None = None,
    uids: PathLike | None = None,
    uid_col: str = "uid",
    export_uids: PathLike | None = None,
) -> SelectSummary:
    """Metadata first (`wit-pipeline select`): keep the rows passing every rule, the dropped
    ones with their reasons beside `out`; `uids`/`export_uids`: DataComp uid lists."""
    from wit_pipeline.metadata.select import select as select_rows
    from wit_pipeline.metadata.uids import read_uids

    rules = [Rule.parse(kind, f"{column}={value}") for kind, given in (("min", min), ("max", max))
             for column, value in (given or {}).items()]  # fmt: skip
    rules += [Rule.parse(kind, f"{column}={','.join(values)}")
              for kind, given in (("keep", keep), ("drop", drop))
              for column, values in (given or {}).items()]  # fmt: skip
    listed = read_uids(Path(uids)) if uids is not None else None
    export = Path(export_uids) if export_uids is not None else None
    return select_rows(Path(metadata), Path(out), rules, listed, uid_col, export)

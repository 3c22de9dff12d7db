"""Report stage: the workspace's HTML report (wit_pipeline.report) as a pipeline stage."""

from dataclasses import dataclass

from wit_pipeline.core.options import StageOptions, option, positive_int
from wit_pipeline.core.stage import Output, Stage


@dataclass(frozen=True)
class Options(StageOptions):
    """The report's options."""

    out: str | None = option(None, "where to write (default: W/report/index.html)", metavar="FILE")
    samples_per_reason: int = option(
        8, "samples shown for kept and for each drop reason (default: 8)", type=positive_int
    )
    duplicate_groups: int = option(
        10, "largest duplicate groups shown (default: 10)", type=positive_int
    )
    top_hosts: int = option(15, "hosts listed by failed downloads (default: 15)", type=positive_int)


HELP = (
    "write W/report/index.html: funnel, CLIP scores, sizes, captions, download errors, "
    "duplicates, samples, timings, training"
)
OUTPUTS = (Output(name="report", path="report/index.html"),)
STAGE = Stage(
    "report",
    HELP,
    Options,
    f"{__name__}.stage:run",
    OUTPUTS,
    optional=True,
    on_object_storage=True,
)
__all__ = ["STAGE", "Options"]

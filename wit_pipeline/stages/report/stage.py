"""The report stage's entry point."""

from __future__ import annotations

from pathlib import Path

from wit_pipeline.core.executor import Engine
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.report import ReportOptions, ReportSummary, build_report
from wit_pipeline.stages.report import Options


def run(workspace: Workspace, options: Options, engine: Engine) -> ReportSummary:
    """Write the report of the workspace, whatever stages it holds so far."""
    return build_report(
        workspace,
        ReportOptions(
            out=Path(options.out) if options.out else None,
            samples_per_reason=options.samples_per_reason,
            duplicate_groups=options.duplicate_groups,
            top_hosts=options.top_hosts,
            progress=engine.progress,
        ),
    )

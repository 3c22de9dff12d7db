"""What each stage of a workspace holds, read from the stages' declared outputs (plus the
catalog): the statuses `wit-pipeline status` prints and the runner's up-to-date check uses."""

from __future__ import annotations

from wit_pipeline.catalog import CATALOG_OUTPUT
from wit_pipeline.core.status import StageStatus, output_status
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages import PIPELINE


def workspace_status(workspace: Workspace) -> list[StageStatus]:
    """The status of every declared output, in pipeline order, then the catalog's."""
    statuses = [
        output_status(workspace, output, stage.suggestion, data=not stage.optional)
        for stage in PIPELINE
        for output in stage.outputs
    ]
    statuses.append(output_status(workspace, CATALOG_OUTPUT, "", data=False))
    return statuses

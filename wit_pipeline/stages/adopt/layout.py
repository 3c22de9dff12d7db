"""Where adopt writes in the workspace: raw/, in the download's own layout (so the download's
declared output, its catalog view and its timing cover it), plus a record of the folder adopted."""

from __future__ import annotations

from wit_pipeline.core.stage import Output
from wit_pipeline.core.workspace import Workspace

SOURCE_FILE = ".adopted.json"
"""raw/.adopted.json: the folder raw/ was adopted from, so another one is never mixed in."""
PLAN_FILE = ".input/plan.json"
"""A download's plan in raw/: raw/ holds a download, not an adopted folder."""
OUTPUTS: tuple[Output, ...] = ()


def source_record(workspace: Workspace) -> str:
    """Where the record of the adopted folder lies."""
    return str(workspace.raw_dir / SOURCE_FILE)

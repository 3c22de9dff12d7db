"""Browse reads the workspace like the report does: through core, the catalog and the report's
funnel; it imports no command, no runner and no stage."""

from tests.test_import_rules import FACE, RUNNER, offending, sources


def test_browse_imports_no_command_runner_or_stage():
    assert offending(sources("wit_pipeline/browse"), (*FACE, *RUNNER, "wit_pipeline.stages")) == []


def test_nothing_below_the_face_imports_browse():
    lower = sources("wit_pipeline/core", "wit_pipeline/scoring", "wit_pipeline/net",
                    "wit_pipeline/stages", "wit_pipeline/report")  # fmt: skip
    assert offending(lower, ("wit_pipeline.browse",)) == []

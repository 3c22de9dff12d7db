"""One command per pipeline stage (scrape, download, filter, shard, report, train): its flags
come from the stage's Options class, and running it is one call of the runner's `execute`,
the same as `wit-pipeline run`, the demo and the Airflow DAG make."""

from __future__ import annotations

import argparse

from wit_pipeline.commands.common import EXIT_OK, Handler, add_command, engine_from
from wit_pipeline.core.options import add_to_parser, from_namespace
from wit_pipeline.core.stage import Stage
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages import PIPELINE


def stage_handler(stage: Stage) -> Handler:
    """The command handler of `stage`: options from the flags, one runner call, its summary
    line on stdout (also under -q when the summary is the output, as for a dry run)."""

    def handler(args: argparse.Namespace) -> int:
        from wit_pipeline.runner import execute

        options = from_namespace(stage.options, args)
        engine = engine_from(args, options.required_engine())
        outcome = execute(Workspace.at(args.workdir), stage, options, engine)
        if not args.quiet or outcome.quiet_output:
            print(outcome.line)
        return EXIT_OK

    return handler


def register(sub: argparse._SubParsersAction) -> None:
    """Add a command for every stage of the pipeline, in pipeline order."""
    for stage in PIPELINE:
        add_to_parser(add_command(sub, stage.name, stage.help, stage_handler(stage)), stage.options)

"""What every command module shares: the parser class, global options, the engine they choose
and exit codes. Command modules register themselves with `add_command`; `wit_pipeline.cli` only
assembles them."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import NoReturn

from wit_pipeline.core.errors import InputError, printable
from wit_pipeline.core.executor import ENGINES, Engine
from wit_pipeline.core.logs import LogJsonAction
from wit_pipeline.core.options import non_negative_float

PROG = "wit-pipeline"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
Handler = Callable[[argparse.Namespace], int]


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors and exit code 2."""

    def error(self, message: str) -> NoReturn:
        message = printable(message)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Global options, accepted before or after the sub-command."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--workdir",
        metavar="DIR",
        default=default,
        help="workspace folder, or URL on object storage such as s3://bucket/w "
        "(default: $WIT_WORKDIR or ./wit-data)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="more detail (repeat for debug output)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="only errors; no progress bars",
    )
    parser.add_argument(
        "--log-json",
        action=LogJsonAction,
        help="log JSON lines on stderr for machines (one object per record, the summary last); "
        "also $WIT_LOG_JSON=1",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default=default,
        help="where units run: a local process pool or Ray tasks (default: $WIT_ENGINE or local)",
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        default=default,
        help="with --engine ray: the cluster to join ('auto' for a running one; default: start "
        "a local Ray for the run)",
    )
    parser.add_argument(
        "--gpus-per-task",
        type=non_negative_float,
        default=default,
        help="with --engine ray: GPUs each scoring task asks for (default: 0)",
    )


def engine_from(args: argparse.Namespace, required: str | None = None) -> Engine:
    """The engine the global options (or $WIT_ENGINE) ask for; `required` is what the
    stage's own options ask for (download's `--distributor ray`)."""
    kind = args.engine or os.environ.get("WIT_ENGINE") or "local"
    if kind not in ENGINES:
        raise InputError(f"WIT_ENGINE={kind!r}: must be one of {', '.join(ENGINES)}")
    return Engine.resolve(
        kind,
        args.ray_address,
        args.gpus_per_task or 0.0,
        required=required,
        progress=not args.quiet,
    )


def add_command(
    sub: argparse._SubParsersAction,
    name: str,
    help_text: str,
    handler: Handler,
) -> argparse.ArgumentParser:
    """A sub-command parser that also takes the global options and runs `handler`."""
    parser = sub.add_parser(name, help=help_text, description=help_text)
    add_global_options(parser, suppress=True)
    parser.set_defaults(handler=handler)
    return parser

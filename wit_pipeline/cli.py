"""The one command line face of wit-pipeline: parse, call a command module, set the exit code.

Exit codes: 0 done, 1 the work failed, 2 usage or input error (one line on stderr), 130
interrupted. Each command lives in its own module under `wit_pipeline.commands`; this file only
assembles them and turns exceptions into exit codes.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from wit_pipeline import __version__
from wit_pipeline.commands.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    PROG,
    Parser,
    add_global_options,
)
from wit_pipeline.core.errors import InputError, printable
from wit_pipeline.core.logs import configure_logging, verbosity_level
from wit_pipeline.core.mirror import with_urls

log = logging.getLogger("wit_pipeline")

COMMAND_MODULES = (
    "status",
    "validate",
    "schema",
    "run",
    "demo",
    "stages",
    "verify_shards",
    "select",
    "build_entries",
    "sql",
    "search",
    "browse",
    "testweb",
)
"""Modules of `wit_pipeline.commands`, in the order their commands appear in --help."""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used by tests and docs)."""
    parser = Parser(
        prog=PROG,
        description="Build web image-text datasets: scrape, download, filter, shard, train.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    add_global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"wit_pipeline.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `wit-pipeline` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(verbosity_level(args.verbose, args.quiet))
    try:
        return args.handler(args)
    except InputError as exc:
        print(f"{PROG}: error: {printable(with_urls(str(exc)))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.verbose:
            raise
        print(
            f"{PROG}: failed: {type(exc).__name__}: {printable(with_urls(str(exc)))} "
            "(run with -v for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

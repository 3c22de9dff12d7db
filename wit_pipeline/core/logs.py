"""One logging setup for the command line and the worker processes it starts."""

from __future__ import annotations

import logging
import sys

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def configure_logging(level: int) -> None:
    """Log to stderr at `level` in this process (idempotent; replaces earlier handlers)."""
    logging.basicConfig(level=level, stream=sys.stderr, format=LOG_FORMAT, force=True)


def verbosity_level(verbose: int, quiet: int) -> int:
    """WARNING by default, one step finer per -v and coarser per -q."""
    return max(logging.DEBUG, logging.WARNING - 10 * verbose + 10 * quiet)

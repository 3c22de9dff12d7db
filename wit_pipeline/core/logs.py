"""One logging setup for the command line and the worker processes it starts.

People get `LEVEL logger: message` lines; machines (`--log-json`, or `$WIT_LOG_JSON=1`) get one
JSON object per record on stderr, and the command's summary as a last JSON line. The choice
lives in the environment, so spawned worker processes log the way their parent does.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
LOG_JSON_ENV = "WIT_LOG_JSON"
SUMMARY_LOGGER = "wit_pipeline.summary"
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, then the record's extra
    fields (`log.info(..., extra={"shard": "00003"})`) and the traceback, if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((k, v) for k, v in vars(record).items() if k not in _RECORD_FIELDS)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def json_logs_enabled() -> bool:
    """Whether this process (and the workers it starts) logs JSON lines."""
    return os.environ.get(LOG_JSON_ENV, "") not in ("", "0")


def configure_logging(level: int) -> None:
    """Log to stderr at `level` in this process (idempotent; replaces earlier handlers), as
    JSON lines when `$WIT_LOG_JSON` is set."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonLineFormatter() if json_logs_enabled() else logging.Formatter(LOG_FORMAT)
    handler.setFormatter(formatter)
    logging.basicConfig(level=level, handlers=[handler], force=True)


def verbosity_level(verbose: int, quiet: int) -> int:
    """WARNING by default, one step finer per -v and coarser per -q."""
    return max(logging.DEBUG, logging.WARNING - 10 * verbose + 10 * quiet)


class LogJsonAction(argparse.Action):
    """`--log-json`: switch this process and its workers to JSON lines (sets `$WIT_LOG_JSON`,
    which `configure_logging` reads)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("default", argparse.SUPPRESS)
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        os.environ[LOG_JSON_ENV] = "1"


def json_value(value: Any) -> Any:
    """`value` as plain JSON data; None for what has no small JSON form (tables, arrays)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: json_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {k: v for k, v in fields.items() if v is not None}
    return None


def log_summary(summary: Any, stage: str | None = None) -> None:
    """Under JSON logging, write a command's summary (an object with `.line()`) as one JSON
    line on stderr, with its dataclass fields under "summary" (and the stage it belongs to);
    otherwise do nothing."""
    if not json_logs_enabled():
        return
    fields = {
        "name": SUMMARY_LOGGER,
        "levelno": logging.INFO,
        "levelname": "INFO",
        "msg": summary.line(),
        "event": "summary",
        "summary": json_value(summary),
    }
    if stage is not None:
        fields["stage"] = stage
    record = logging.makeLogRecord(fields)
    print(JsonLineFormatter().format(record), file=sys.stderr, flush=True)

"""Logging for people and machines: text lines by default, JSON lines under $WIT_LOG_JSON (or
--log-json), in worker processes too, and the summary as a last JSON line."""

import argparse
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pytest

from wit_pipeline.core.executor import Unit, run_units
from wit_pipeline.core.logs import (
    LOG_JSON_ENV,
    LogJsonAction,
    configure_logging,
    json_logs_enabled,
    log_summary,
)

log = logging.getLogger("wit_pipeline.tests.logs")


@pytest.fixture
def json_env(monkeypatch):
    """JSON logging on for one test (the variable is restored afterwards)."""
    monkeypatch.setenv(LOG_JSON_ENV, "1")
    yield
    configure_logging(logging.WARNING)


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_records_are_json_objects_with_extra_fields(json_env, capsys):
    configure_logging(logging.INFO)
    log.info("shard %s done", "00003", extra={"shard": "00003", "rows": 40})
    try:
        raise ValueError("bad byte")
    except ValueError:
        log.exception("unit failed")
    first, second = _json_lines(capsys.readouterr().err)
    assert first["level"] == "INFO" and first["logger"] == "wit_pipeline.tests.logs"
    assert (first["message"], first["shard"], first["rows"]) == ("shard 00003 done", "00003", 40)
    assert first["time"].endswith("+00:00")
    assert second["level"] == "ERROR" and "ValueError: bad byte" in second["exception"]


def test_text_lines_when_json_is_off(monkeypatch, capsys):
    monkeypatch.setenv(LOG_JSON_ENV, "0")
    configure_logging(logging.INFO)
    log.info("hello", extra={"shard": "1"})
    assert capsys.readouterr().err == "INFO wit_pipeline.tests.logs: hello\n"
    assert not json_logs_enabled()


def log_in_worker(name: str) -> dict:
    """Work of one unit: log a warning with an extra field (runs in a spawned process)."""
    logging.getLogger("wit_pipeline.tests.worker").warning("unit %s", name, extra={"unit": name})
    return {}


def test_worker_processes_log_json_too(json_env, tmp_path, capfd):
    configure_logging(logging.INFO)
    units = [Unit(name, name) for name in ("a", "b")]
    run_units(tmp_path, units, log_in_worker, processes=2, progress=False)
    lines = [line for line in _json_lines(capfd.readouterr().err) if "unit" in line]
    assert sorted(line["unit"] for line in lines) == ["a", "b"]
    assert {line["logger"] for line in lines} == {"wit_pipeline.tests.worker"}


@dataclass
class Inner:
    funnel: dict = field(default_factory=lambda: {"kept": 3})
    table: pa.Table = field(default_factory=lambda: pa.table({"a": [1]}))


@dataclass
class Summary:
    path: Path
    samples: int
    inner: Inner

    def line(self) -> str:
        return f"{self.samples} samples at {self.path}"


def test_summary_is_the_last_json_line(json_env, capsys):
    log_summary(Summary(Path("/w/shards"), 7, Inner()))
    (line,) = _json_lines(capsys.readouterr().err)
    assert (line["event"], line["message"], line["logger"]) == (
        "summary",
        "7 samples at /w/shards",
        "wit_pipeline.summary",
    )
    assert line["summary"] == {"path": "/w/shards", "samples": 7, "inner": {"funnel": {"kept": 3}}}


def test_no_summary_line_for_people(monkeypatch, capsys):
    monkeypatch.setenv(LOG_JSON_ENV, "0")
    log_summary(Summary(Path("/w"), 1, Inner()))
    assert capsys.readouterr().err == ""


def test_log_json_option_switches_the_environment(monkeypatch):
    monkeypatch.setenv(LOG_JSON_ENV, "0")
    parser = argparse.ArgumentParser()
    parser.add_argument("--log-json", action=LogJsonAction)
    assert not hasattr(parser.parse_args([]), "log_json") and not json_logs_enabled()
    parser.parse_args(["--log-json"])
    assert json_logs_enabled()

"""Pipeline config files: one YAML mapping with global keys and one section per stage.

A section's keys are the stage command's options (`min_clip_score` for `--min-clip-score`),
checked with the command's own argument types, so a config and a command line can never mean
different things. Unknown keys, wrong types and out-of-range values are rejected with one line
naming the file and the key.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from wit_pipeline.commands.common import ENGINES, Parser
from wit_pipeline.core.errors import InputError

STAGES = ("scrape", "download", "filter", "shard", "report", "train")
"""Stages in pipeline order; each is the command module of the same name."""

OPTIONAL_STAGES = frozenset({"report", "train"})
"""Stages that run only when their section is present; the others run unless set to false."""

GLOBAL_KEYS = {
    "workdir": "workspace folder (default: ./wit-data)",
    "engine": "where units run: local or ray (default: local)",
    "ray_address": "with engine ray: the cluster to join, 'auto' for a running one",
    "gpus_per_task": "with engine ray: GPUs per scoring task (default: 0)",
}
_RUNTIME_KEYS = frozenset({"processes", "threads", "workers"})
"""Options that change how fast a stage runs, never what it writes."""


def stage_module(name: str) -> ModuleType:
    """The command module of stage `name` (its add_arguments and run_stage)."""
    return importlib.import_module(f"wit_pipeline.commands.{name}")


def stage_parser(name: str) -> argparse.ArgumentParser:
    """A parser holding exactly the options of stage `name`."""
    parser = Parser(prog=f"wit-pipeline {name}", add_help=False)
    stage_module(name).add_arguments(parser)
    return parser


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.dest: a for a in parser._actions if a.dest != argparse.SUPPRESS}


@dataclass
class PipelineConfig:
    """A validated config: global settings and, per stage, its complete option namespace."""

    source: str
    workdir: Path
    engine: str = "local"
    ray_address: str | None = None
    gpus_per_task: float = 0.0
    sections: dict[str, argparse.Namespace] = field(default_factory=dict)

    def stages(self) -> list[str]:
        """The stages this config runs, in pipeline order."""
        return [s for s in STAGES if s in self.sections]

    def fingerprint(self, stage: str) -> dict[str, Any]:
        """What decides a stage's output: its options, minus the ones that only set speed."""
        values = vars(self.sections[stage])
        return {k: v for k, v in sorted(values.items()) if k not in _RUNTIME_KEYS}


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> PipelineConfig:
    """Read and validate the YAML config at `path`; `overrides` replace its global keys."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise InputError(
            f"{path}:{where}: not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from exc
    return config_from_dict(data, str(path), overrides)


def config_from_dict(
    data: Any, source: str = "<config>", overrides: dict[str, Any] | None = None
) -> PipelineConfig:
    """Validate a config mapping (what a YAML file or an Airflow DAG's params hold)."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: a config is a mapping of keys, got {type(data).__name__}")
    data = {**data, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    _reject_unknown(source, "", data, [*GLOBAL_KEYS, *STAGES])
    engine = data.get("engine") or "local"
    if engine not in ENGINES:
        raise InputError(f"{source}: engine: {engine!r} is not one of {', '.join(ENGINES)}")
    config = PipelineConfig(
        source=source,
        workdir=Path(_typed(source, "workdir", data.get("workdir", "wit-data"), str)),
        engine=engine,
        ray_address=_typed(source, "ray_address", data.get("ray_address"), str),
        gpus_per_task=float(_typed(source, "gpus_per_task", data.get("gpus_per_task", 0), float)),
    )
    for stage in STAGES:
        if data.get(stage) is False or (stage not in data and stage in OPTIONAL_STAGES):
            continue
        section = data.get(stage)
        if section is None or section is True:
            section = {}
        if not isinstance(section, dict):
            raise InputError(f"{source}: {stage}: expected a mapping of options")
        config.sections[stage] = stage_namespace(stage, section, source)
    return config


def stage_namespace(stage: str, section: dict[str, Any], source: str) -> argparse.Namespace:
    """The full option namespace of `stage`: its defaults, overridden by `section`."""
    actions = _options(stage_parser(stage))
    section = {str(k).replace("-", "_"): v for k, v in section.items()}
    _reject_unknown(source, f"{stage}.", section, list(actions))
    values = {}
    for dest, action in actions.items():
        where = f"{stage}.{dest}"
        if dest in section:
            values[dest] = _convert(source, where, action, section[dest])
        elif action.required or action.nargs == "+":
            raise InputError(f"{source}: {where}: required ({action.help})")
        else:
            values[dest] = action.default
    return argparse.Namespace(**values)


def _reject_unknown(source: str, prefix: str, data: dict[str, Any], known: list[str]) -> None:
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
            raise InputError(f"{source}: {prefix}{key}: unknown key{hint}")


def _typed(source: str, key: str, value: Any, kind: type) -> Any:
    if value is None or (isinstance(value, kind) and not isinstance(value, bool)):
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InputError(f"{source}: {key}: expected {kind.__name__}, got {value!r}")


def _convert(source: str, where: str, action: argparse.Action, value: Any) -> Any:
    """`value` checked and converted as the command line would convert its text."""
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        if not isinstance(value, bool):
            raise InputError(f"{source}: {where}: expected true or false, got {value!r}")
        return value
    if action.nargs in ("+", "*"):
        if not isinstance(value, list) or not value:
            raise InputError(f"{source}: {where}: expected a non-empty list, got {value!r}")
        return [_convert_one(source, where, action, v) for v in value]
    if value is None:
        return None
    return _convert_one(source, where, action, value)


def _convert_one(source: str, where: str, action: argparse.Action, value: Any) -> Any:
    if isinstance(value, (dict, list, bool)):
        raise InputError(f"{source}: {where}: expected a single value, got {value!r}")
    convert = action.type or str
    try:
        result = convert(str(value))
    except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
        raise InputError(f"{source}: {where}: invalid value {value!r} ({exc})") from exc
    if action.choices is not None and result not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise InputError(f"{source}: {where}: {value!r} is not one of {choices}")
    return result


def default_config_text() -> str:
    """A commented YAML config listing every stage's options with their defaults."""
    lines = [
        "# wit-pipeline run config: `wit-pipeline run CONFIG.yaml`.",
        "# Every key is a command-line option of the stage (min_clip_score = --min-clip-score).",
        "# Sections marked optional run only when present; the others run with their defaults.",
    ]
    lines += [f"# {key}: {text}" for key, text in GLOBAL_KEYS.items()]
    lines += ["workdir: wit-data", "engine: local", ""]
    for stage in STAGES:
        optional = stage in OPTIONAL_STAGES
        lead = "# " if optional else ""
        note = "optional: uncomment to run it" if optional else "false skips it"
        lines.append(f"{lead}{stage}:  # {note}")
        for dest, action in _options(stage_parser(stage)).items():
            help_text = (action.help or "").replace("%(default)s", str(action.default))
            if action.required or action.nargs == "+":
                lines.append(f"{lead}  {dest}: [REQUIRED]  # {help_text}")
            else:
                default = yaml.safe_dump(action.default, default_flow_style=True).strip()
                default = default.removesuffix("\n...").removesuffix("...").strip()
                lines.append(f"#   {dest}: {default}  # {help_text}")
        lines.append("")
    return "\n".join(lines)

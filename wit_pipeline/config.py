"""Pipeline config files: one YAML mapping with global keys and one section per stage.

A section's keys are the stage's options (`min_clip_score` for `--min-clip-score`), converted
and checked exactly as the command line converts them (both read the stage's Options class),
and each section's cross-field rules run at load, so a config that cannot succeed fails before
any stage runs. Unknown keys, wrong types and out-of-range values are one line naming the file
and the key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wit_pipeline.core import storage
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.executor import ENGINES
from wit_pipeline.core.options import StageOptions, describe, from_mapping, reject_unknown
from wit_pipeline.core.workspace import workdir_path
from wit_pipeline.stages import NAMES, PIPELINE

STAGES = NAMES
"""Stages in pipeline order."""

GLOBAL_KEYS = {
    "workdir": "workspace folder, or URL on object storage: s3://bucket/w (default: ./wit-data)",
    "engine": "where units run: local or ray (default: local)",
    "ray_address": "with engine ray: the cluster to join, 'auto' for a running one",
    "gpus_per_task": "with engine ray: GPUs per scoring task (default: 0)",
}


@dataclass
class PipelineConfig:
    """A validated config: global settings and, per stage that runs, its options."""

    source: str
    workdir: Path | str
    """A local folder, or the URL of a workspace on object storage."""
    engine: str = "local"
    ray_address: str | None = None
    gpus_per_task: float = 0.0
    sections: dict[str, StageOptions] = field(default_factory=dict)

    def stages(self) -> list[str]:
        """The stages this config runs, in pipeline order."""
        return [s for s in STAGES if s in self.sections]

    def fingerprint(self, stage: str) -> str:
        """What decides a stage's output, as text: its options but those that set speed."""
        return json.dumps(self.sections[stage].fingerprint(), sort_keys=True, default=str)


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
    reject_unknown(source, "", data, [*GLOBAL_KEYS, *STAGES])
    engine = data.get("engine") or "local"
    workdir = _typed(source, "workdir", data.get("workdir", "wit-data"), str)
    given = "--workdir" if (overrides or {}).get("workdir") is not None else f"{source}: workdir:"
    if engine not in ENGINES:
        raise InputError(f"{source}: engine: {engine!r} is not one of {', '.join(ENGINES)}")
    config = PipelineConfig(
        source=source,
        workdir=workdir if storage.is_remote(workdir) else workdir_path(workdir, given),
        engine=engine,
        ray_address=_typed(source, "ray_address", data.get("ray_address"), str),
        gpus_per_task=float(_typed(source, "gpus_per_task", data.get("gpus_per_task", 0), float)),
    )
    for stage in PIPELINE:
        section = data.get(stage.name)
        if section is False or (stage.name not in data and stage.optional):
            continue
        if section is None or section is True:
            section = {}
        if not isinstance(section, dict):
            raise InputError(f"{source}: {stage.name}: expected a mapping of options")
        config.sections[stage.name] = from_mapping(stage.options, section, source, f"{stage.name}.")
    return config


def _typed(source: str, key: str, value: Any, kind: type) -> Any:
    if value is None or (isinstance(value, kind) and not isinstance(value, bool)):
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InputError(f"{source}: {key}: expected {kind.__name__}, got {value!r}")


def default_config_text() -> str:
    """A commented YAML config listing every stage's options with their defaults."""
    lines = [
        "# wit-pipeline run config: `wit-pipeline run CONFIG.yaml`.",
        "# Every key is a command-line option of the stage (min_clip_score = --min-clip-score).",
        "# Sections marked optional run only when present; the others run with their defaults.",
    ]
    lines += [f"# {key}: {text}" for key, text in GLOBAL_KEYS.items()]
    lines += ["workdir: wit-data", "engine: local", ""]
    for stage in PIPELINE:
        lead = "# " if stage.optional else ""
        note = "optional: uncomment to run it" if stage.optional else "false skips it"
        lines.append(f"{lead}{stage.name}:  # {note}")
        for name, default, help_text, required in describe(stage.options):
            if required:
                lines.append(f"{lead}  {name}: [REQUIRED]  # {help_text}")
            else:
                shown = yaml.safe_dump(default, default_flow_style=True).strip()
                shown = shown.removesuffix("\n...").removesuffix("...").strip()
                lines.append(f"#   {name}: {shown}  # {help_text}")
        lines.append("")
    return "\n".join(lines)

"""Stage options as data: one frozen dataclass per stage, the single source of its flags.

A field made with `option()` carries what the command line and a run config need: help text,
the argument type that converts and range-checks text, choices, an argparse group, whether it
is positional, whether it only sets speed. `add_to_parser` turns a class into flags,
`from_namespace` reads them back, `from_mapping` builds options from a config section with the
same conversions (so a config and a command line can never mean different things), and
`validate()` holds every rule across fields, run by all three before any work starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import hashlib
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from wit_pipeline.core.errors import InputError

Converter = Callable[[str], Any]
T = TypeVar("T", bound="StageOptions")
T2 = TypeVar("T2")
REQUIRED = dataclasses.MISSING
"""Default of an option that has none (a positional the user must give)."""


def option(
    default: Any = REQUIRED,
    help: str = "",
    *,
    type: Converter | None = None,
    choices: tuple[Any, ...] | None = None,
    group: str | None = None,
    metavar: str | None = None,
    positional: bool = False,
    many: bool = False,
    flag: str | None = None,
    runtime: bool = False,
    action: str | type[argparse.Action] | None = None,
    input_file: bool = False,
) -> Any:
    """A stage option: a dataclass field with what argparse and config loading need.
    `many`: a list (one or more values); `runtime`: changes speed, never output;
    `input_file`: names a file or folder whose contents decide the output (fingerprinted)."""
    metadata = {
        "help": help,
        "type": type,
        "choices": choices,
        "group": group,
        "metavar": metavar,
        "positional": positional,
        "many": many,
        "flag": flag,
        "runtime": runtime,
        "action": action,
        "input_file": input_file,
    }
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class StageOptions:
    """Base of every stage's options: cross-field rules and the engine a run needs."""

    def validate(self) -> None:
        """Raise InputError (one line naming the options) when fields contradict each other."""

    def required_engine(self) -> str | None:
        """The engine kind these options ask for themselves (None: the global choice)."""
        return None

    def fingerprint(self) -> dict[str, Any]:
        """What decides the stage's output: every option but those that only set speed, with
        the contents of the files options name (a list edited in place reruns the stage)."""
        return {
            f.name: _with_contents(getattr(self, f.name))
            if f.metadata.get("input_file")
            else getattr(self, f.name)
            for f in dataclasses.fields(self)
            if not f.metadata.get("runtime")
        }


def _with_contents(value: Any) -> Any:
    """`value` (a path, a list of paths or of NAME=PATH) with a stamp of each local file's
    contents (sha256) or folder's listing (names, sizes, modification times)."""
    if isinstance(value, (list, tuple)):
        return [_with_contents(item) for item in value]
    if not isinstance(value, str):
        return value
    path = Path(value.split("=", 1)[1] if "=" in value and "://" not in value else value)
    if path.is_file():
        return [value, hashlib.sha256(path.read_bytes()).hexdigest()]
    if path.is_dir():
        listing = sorted(
            (str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns)
            for p in path.rglob("*")
            if p.is_file()
        )
        return [value, hashlib.sha256(repr(listing).encode()).hexdigest()]
    return value


def same_named(target: type[T2], options: StageOptions, **overrides: Any) -> T2:
    """A `target` dataclass (a stage's structured settings) filled from the options of the same
    names, then `overrides` (the options whose names or meanings differ)."""
    names = {f.name for f in dataclasses.fields(options)}
    values = {
        f.name: getattr(options, f.name) for f in dataclasses.fields(target) if f.name in names
    }
    return target(**{**values, **overrides})


def fields_of(cls: type[StageOptions]) -> list[dataclasses.Field]:
    """The option fields of an options class, in declaration order."""
    return [f for f in dataclasses.fields(cls) if "help" in f.metadata]


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return REQUIRED


def _is_flag(field: dataclasses.Field) -> bool:
    """A bool option given by its presence alone (`--no-dedupe`)."""
    return (
        _default(field) is False and field.metadata["type"] is None and not field.metadata["action"]
    )


def add_to_parser(parser: argparse.ArgumentParser, cls: type[StageOptions]) -> None:
    """Add every option of `cls` to `parser` as a flag or positional, in argparse groups."""
    groups: dict[str | None, Any] = {None: parser}
    for field in fields_of(cls):
        meta = field.metadata
        title = meta["group"]
        if title not in groups:
            groups[title] = parser.add_argument_group(title)
        target = groups[title]
        default = _default(field)
        kwargs: dict[str, Any] = {"help": meta["help"]}
        if meta["metavar"]:
            kwargs["metavar"] = meta["metavar"]
        if meta["positional"]:
            kwargs["nargs"] = "+" if meta["many"] else ("?" if default is not REQUIRED else None)
            if default is not REQUIRED:
                kwargs["default"] = default
            target.add_argument(field.name, **{k: v for k, v in kwargs.items() if v is not None})
            continue
        name = meta["flag"] or "--" + field.name.replace("_", "-")
        if _is_flag(field):
            target.add_argument(name, dest=field.name, action="store_true", **kwargs)
            continue
        if meta["action"]:
            kwargs["action"] = meta["action"]
        if meta["type"] is not None:
            kwargs["type"] = meta["type"]
        if meta["choices"] is not None:
            kwargs["choices"] = meta["choices"]
        if meta["many"]:
            kwargs["nargs"] = "+"
        kwargs["required"] = default is REQUIRED
        if default is not REQUIRED:
            kwargs["default"] = default
        target.add_argument(name, dest=field.name, **kwargs)


def from_namespace(cls: type[T], args: argparse.Namespace) -> T:
    """The options parsed by a parser made with `add_to_parser`, validated."""
    values = {f.name: getattr(args, f.name) for f in fields_of(cls)}
    return _validated(cls(**values))


def from_mapping(cls: type[T], section: Mapping[str, Any], source: str, prefix: str) -> T:
    """Options from a config section (`min_clip_score: 0.28`; dashes allowed in keys), each
    value checked as the command line checks its text; unknown keys get a "did you mean"."""
    fields = {f.name: f for f in fields_of(cls)}
    section = {str(k).replace("-", "_"): v for k, v in section.items()}
    reject_unknown(source, prefix, section, list(fields))
    values = {}
    for name, field in fields.items():
        where = f"{prefix}{name}"
        if name in section:
            values[name] = _convert(source, where, field, section[name])
        elif _default(field) is REQUIRED:
            raise InputError(f"{source}: {where}: required ({field.metadata['help']})")
    return _validated(cls(**values), source)


def _validated(options: T, source: str | None = None) -> T:
    try:
        options.validate()
    except InputError as exc:
        if source is None:
            raise
        raise InputError(f"{source}: {exc}") from exc
    return options


def reject_unknown(source: str, prefix: str, data: Mapping[str, Any], known: list[str]) -> None:
    """InputError naming the first key of `data` not in `known`, with the closest match."""
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
            raise InputError(f"{source}: {prefix}{key}: unknown key{hint}")


def _convert(source: str, where: str, field: dataclasses.Field, value: Any) -> Any:
    """`value` checked and converted as the command line would convert its text."""
    if _is_flag(field) or isinstance(_default(field), bool):
        if not isinstance(value, bool):
            raise InputError(f"{source}: {where}: expected true or false, got {value!r}")
        return value
    if field.metadata["many"]:
        if not isinstance(value, list) or not value:
            raise InputError(f"{source}: {where}: expected a non-empty list, got {value!r}")
        return [_convert_one(source, where, field, v) for v in value]
    if value is None:
        return None
    return _convert_one(source, where, field, value)


def _convert_one(source: str, where: str, field: dataclasses.Field, value: Any) -> Any:
    if isinstance(value, dict | list | bool):
        raise InputError(f"{source}: {where}: expected a single value, got {value!r}")
    convert = field.metadata["type"] or str
    try:
        result = convert(str(value))
    except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
        raise InputError(f"{source}: {where}: invalid value {value!r} ({exc})") from exc
    choices = field.metadata["choices"]
    if choices is not None and result not in choices:
        raise InputError(
            f"{source}: {where}: {value!r} is not one of {', '.join(map(str, choices))}"
        )
    return result


def describe(cls: type[StageOptions]) -> list[tuple[str, Any, str, bool]]:
    """(name, default, help, required) of every option, for a commented default config."""
    rows = []
    for field in fields_of(cls):
        default = _default(field)
        help_text = field.metadata["help"].replace("%(default)s", str(default))
        rows.append((field.name, None if default is REQUIRED else default, help_text,
                     default is REQUIRED))  # fmt: skip
    return rows


def finite_float(text: str) -> float:
    """A float that is a number (not nan, not infinite)."""
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _between(kind: Callable[[str], Any], low: float, high: float | None, name: str) -> Converter:
    """An argument type: `kind` of the text, then at least `low` (more than 0 when `low` is
    the smallest positive float) and at most `high`."""

    def convert(text: str) -> Any:
        value = kind(text)
        if value < low or (low == math.ulp(0.0) and value <= 0):
            shown = "more than 0" if low == math.ulp(0.0) else f"at least {low:g}"
            raise argparse.ArgumentTypeError(f"must be {shown}, got {value}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high:g}, got {value}")
        return value

    convert.__name__ = name
    return convert


non_negative_int = _between(int, 0, None, "non_negative_int")
positive_int = _between(int, 1, None, "positive_int")
positive_float = _between(finite_float, math.ulp(0.0), None, "positive_float")
non_negative_float = _between(finite_float, 0, None, "non_negative_float")
shard_size = _between(int, 1, 10_000_000, "shard_size")
"""Samples per shard: 1 to ten million (keys and memory are sized by it)."""
seconds = _between(finite_float, math.ulp(0.0), 86_400, "seconds")
"""A timeout: more than 0, at most a day."""
quality = _between(int, 0, 100, "quality")


def port(text: str) -> int:
    """A TCP port number (0: any free one)."""
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0..65535, got {value}")
    return value


def codes(text: str | None) -> frozenset[str] | None:
    """A comma-separated list of codes (`en,de`) as a set; None when empty."""
    found = frozenset(x.strip() for x in (text or "").split(",") if x.strip())
    return found or None


def options_from_parser(
    name: str, add_arguments: Callable[[argparse.ArgumentParser], None]
) -> type[StageOptions]:
    """An options class made from the flags `add_arguments` declares, for a component that
    owns its argparse options (train_small): same names, types, choices and defaults."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    specs = []
    for action in parser._actions:
        if action.dest == argparse.SUPPRESS:
            continue
        store_true = isinstance(action, argparse._StoreTrueAction)
        extra = {} if store_true else {"type": action.type, "choices": action.choices}
        if not store_true and not isinstance(action, argparse._StoreAction):
            extra["action"] = type(action)
        field = option(
            REQUIRED if action.required else action.default,
            action.help or "",
            flag=action.option_strings[0] if action.option_strings else None,
            positional=not action.option_strings,
            metavar=action.metavar,
            **{k: (tuple(v) if k == "choices" and v else v) for k, v in extra.items()},
        )
        specs.append((action.dest, Any, field))
    required = [spec for spec in specs if spec[2].default is REQUIRED]
    optional = [spec for spec in specs if spec[2].default is not REQUIRED]
    return dataclasses.make_dataclass(name, required + optional, bases=(StageOptions,), frozen=True)

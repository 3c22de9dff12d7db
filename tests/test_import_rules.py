"""The import rules of docs/ARCHITECTURE.md, checked on the source: a lower part never imports a
higher one, and only the executor writes completion markers."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "wit_pipeline"
FACE = ("wit_pipeline.cli", "wit_pipeline.commands", "wit_pipeline.demo")
RUNNER = ("wit_pipeline.runner", "wit_pipeline.config", "wit_pipeline.status")
MARKER_WRITES = {"mark_done", "mark_stage_done", "forget", "clear"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside functions, relative ones resolved."""
    tree = ast.parse(path.read_text(), str(path))
    name = module_name(path) if path.is_relative_to(ROOT) else path.stem
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def offending(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{module_name(path)} imports {name}"
        for path in paths
        for name in sorted(imports(path))
        if under(name, forbidden)
    ]


@pytest.mark.parametrize("part", ["core", "scoring", "net"])
def test_core_scoring_and_net_import_no_higher_part(part):
    higher = (*FACE, *RUNNER, "wit_pipeline.stages", "wit_pipeline.report",
              "wit_pipeline.catalog", "wit_pipeline.reader")  # fmt: skip
    assert offending(sources(f"wit_pipeline/{part}"), higher) == []


def test_a_stage_imports_no_command_runner_or_other_stage():
    problems = []
    for folder in sorted(p for p in (PACKAGE / "stages").iterdir() if p.is_dir()):
        others = tuple(
            f"wit_pipeline.stages.{p.name}"
            for p in (PACKAGE / "stages").iterdir()
            if p.is_dir() and p != folder
        )
        paths = sources(f"wit_pipeline/stages/{folder.name}")
        problems += offending(paths, (*FACE, *RUNNER, "wit_pipeline.catalog", *others))
        registry = [m for m in offending(paths, ("wit_pipeline.stages",)) if m.endswith("stages")]
        problems += registry
    assert problems == []


def test_the_runner_and_config_import_no_command():
    assert (
        offending([PACKAGE / f"{name}.py" for name in ("runner", "config", "status")], FACE) == []
    )


def test_report_and_catalog_import_no_stage_internals():
    """They read the stages' public declarations (`wit_pipeline.stages.NAME`), nothing deeper."""
    paths = [*sources("wit_pipeline/report"), PACKAGE / "catalog.py"]
    problems = offending(paths, (*FACE, *RUNNER))
    problems += [
        f"{module_name(path)} imports {name}"
        for path in paths
        for name in sorted(imports(path))
        if name.startswith("wit_pipeline.stages.") and name.count(".") > 2
    ]
    assert problems == []


def test_train_small_and_the_dag_import_no_stage_or_command():
    assert offending(sources("train_small"), (*FACE, *RUNNER, "wit_pipeline.stages")) == []
    assert offending(sources("dags"), (*FACE, "wit_pipeline.stages")) == []


def marker_writes(path: Path) -> list[str]:
    """Calls in `path` that write markers: `mark_done`/`mark_stage_done` on anything, and
    `forget`/`clear` on a `Markers(...)` object or a name bound to one."""
    tree = ast.parse(path.read_text())
    bound = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and "Markers(" in ast.unparse(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        target, method = ast.unparse(node.func.value), node.func.attr
        always = method in ("mark_done", "mark_stage_done")
        on_markers = method in MARKER_WRITES and ("Markers(" in target or target in bound)
        if always or on_markers:
            found.append(f"{target}.{method}()")
    return found


def test_only_the_executor_writes_completion_markers():
    owners = ("core/executor.py", "core/markers.py")
    writers = [
        f"{module_name(path)}: {call}"
        for path in sources("wit_pipeline")
        if path.relative_to(PACKAGE).as_posix() not in owners
        for call in marker_writes(path)
    ]
    assert writers == []


def test_the_checks_see_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from wit_pipeline.stages.filter import score\n"
        "def f(d):\n    m = Markers(d)\n    m.forget('x')\n    Markers(d).mark_done('y')\n"
    )
    assert under("wit_pipeline.stages.filter.score", ("wit_pipeline.stages",))
    assert "wit_pipeline.stages.filter.score" in imports(bad)
    assert marker_writes(bad) == ["m.forget()", "Markers(d).mark_done()"]

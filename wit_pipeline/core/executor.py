"""Run a stage's units of work on a local process pool, with completion markers and progress.

The executor owns resume: a unit with a marker is skipped, a unit that finishes gets one, and
temporary files a killed run left in the stage folder are removed first. A unit's work function
writes its own outputs atomically and returns JSON-able facts, stored in its marker.
"""

from __future__ import annotations

import importlib.util
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from wit_pipeline.core import storage
from wit_pipeline.core.atomic import remove_stale_temps
from wit_pipeline.core.errors import InputError
from wit_pipeline.core.lock import lease_problem
from wit_pipeline.core.logs import configure_logging
from wit_pipeline.core.markers import Markers
from wit_pipeline.core.mirror import OBJECTS
from wit_pipeline.core.staging import staged_work

log = logging.getLogger(__name__)

WorkFn = Callable[[Any], dict[str, Any]]


@dataclass(frozen=True)
class Unit:
    """One piece of a stage's work: a marker name and the picklable argument of the work."""

    name: str
    payload: Any


ENGINES = ("local", "ray")
RAY_MULTI_NODE_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
"""The environment variable that turns Ray's multi-node networking on ("1": its servers listen
on every address) or off ("0": every Ray server binds 127.0.0.1). Set to "0" before Ray is
imported when the run starts its own single-node Ray, which nothing else has to reach."""


@dataclass(frozen=True)
class Engine:
    """Where units run: `local` (this process, or a process pool) or `ray` (a local Ray started
    for the run, or the cluster at `ray_address`; `auto` joins a running one)."""

    kind: str = "local"
    ray_address: str | None = None
    gpus_per_task: float = 0.0
    progress: bool = True
    """Show progress bars (a terminal's choice, not the output's)."""

    def require(self) -> None:
        """Fail with one line naming the extra when this engine's package is missing."""
        if self.kind == "ray" and importlib.util.find_spec("ray") is None:
            raise InputError("--engine ray needs the ray package: pip install 'wit-pipeline[ray]'")

    @classmethod
    def resolve(
        cls,
        kind: str | None,
        ray_address: str | None = None,
        gpus_per_task: float = 0.0,
        *,
        required: str | None = None,
        progress: bool = True,
    ) -> Engine:
        """The engine for one stage run: `kind` (default local) unless the stage's options
        require another (download's `--distributor ray`); InputError for a contradiction or
        a missing package, never a silent fallback."""
        kind = required or kind or "local"
        if kind not in ENGINES:
            raise InputError(f"engine {kind!r}: must be one of {', '.join(ENGINES)}")
        if ray_address and kind != "ray":
            raise InputError("--ray-address needs --engine ray (or download's --distributor ray)")
        engine = cls(kind, ray_address, gpus_per_task or 0.0, progress)
        engine.require()
        return engine


@dataclass
class RunResult:
    """What happened to every unit: facts of the finished ones, errors of the failed ones."""

    infos: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


class UnitsFailed(RuntimeError):
    """Some units raised; the others finished and keep their markers, so a rerun retries these."""


def run_units(
    marker_dir: Path | str,
    units: Sequence[Unit],
    work: WorkFn,
    *,
    processes: int = 1,
    desc: str = "units",
    progress: bool = True,
    engine: Engine | None = None,
    gpus_per_task: float = 0.0,
    done_if: Callable[[str, dict[str, Any]], bool] | None = None,
    replaces: Path | None = None,
) -> RunResult:
    """Run `work(unit.payload)` for each unit not yet done; `processes=1` runs in this process.
    Under Ray each unit is a task asking for `gpus_per_task` GPUs (scoring on GPU actors).

    The work function is the same whatever the engine; markers are written here, by the driver,
    in `marker_dir` (a local folder or an fsspec URL; in the mirror of a workspace on object
    storage, each unit runs on scratch and its marker names the objects it uploaded).
    `done_if(unit, marker facts)` may doubt a marker (an object store's upload gone missing):
    such a unit runs again. `replaces`: a folder whose markers of these units are forgotten
    before they run and written again, with the same facts, when each finishes (a rerun that
    rewrites another run's finished units in place).
    """
    engine = engine or Engine()
    engine.require()
    markers = Markers(marker_dir)
    mirror = markers.mirror
    if mirror is not None:  # a workspace on object storage: units run on scratch (core.staging)
        if storage.protocol(mirror.remote) == "memory":  # it lives in this process only
            if engine.kind == "ray":
                raise InputError(f"{mirror.remote}: a memory:// workspace needs --engine local")
            processes = 1
        work = staged_work(work, [unit.payload for unit in units], mirror.root, mirror.remote)
        mirror.push()  # what the units read (a plan the driver wrote) is on the store first
    if markers.local:
        folder = storage.local_path(marker_dir)  # a file:// URL is a local folder
        folder.mkdir(parents=True, exist_ok=True)
        for path in remove_stale_temps(folder):
            log.info("removed %s left by an interrupted run", path)
    replaced = Markers(replaces) if replaces is not None else None
    result = RunResult()
    todo = []
    for unit in units:
        info = markers.info(unit.name)
        if info is not None and (done_if is None or done_if(unit.name, info)):
            result.skipped.append(unit.name)
            result.infos[unit.name] = info
        else:
            todo.append(unit)
            if replaced is not None:
                replaced.forget(unit.name)
    # no bar object at all without progress: even a disabled tqdm starts its monitor thread
    bar = (
        tqdm(total=len(units), initial=len(result.skipped), desc=desc, unit="unit", leave=False)
        if progress
        else None
    )

    def finish(unit: Unit, outcome: Callable[[], dict[str, Any]]) -> None:
        try:
            info = outcome()
        except InputError:
            raise
        except Exception as exc:
            log.error("%s: unit %s failed: %s: %s", desc, unit.name, type(exc).__name__, exc)
            result.errors[unit.name] = f"{type(exc).__name__}: {exc}"
        else:
            if mirror is not None and (problem := lease_problem()) is not None:
                raise InputError(
                    f"{mirror.remote}: this {desc} run lost its lease ({problem}) and stopped "
                    f"before marking unit {unit.name} done; run it again when the other ends"
                )
            markers.mark_done(unit.name, info)
            if mirror is not None:
                mirror.fetch(list(info.get(OBJECTS, {})))
            if replaced is not None:
                replaced.mark_done(unit.name, info)
            result.infos[unit.name] = {"unit": unit.name, **info}
        if bar is not None:
            bar.update(1)

    try:
        if engine.kind == "ray":
            for unit, outcome in _ray_outcomes(todo, work, processes, engine, gpus_per_task):
                finish(unit, outcome)
        elif processes <= 1 or len(todo) <= 1:
            for unit in todo:
                finish(unit, lambda unit=unit: work(unit.payload))
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(
                max_workers=processes,
                mp_context=context,
                initializer=configure_logging,
                initargs=(logging.getLogger().getEffectiveLevel(),),
            ) as pool:
                futures: dict[Future, Unit] = {pool.submit(work, u.payload): u for u in todo}
                for future in as_completed(futures):
                    finish(futures[future], future.result)
    finally:
        if bar is not None:
            bar.close()
    if result.errors:
        first = next(iter(result.errors.items()))
        raise UnitsFailed(
            f"{len(result.errors)} of {len(units)} {desc} failed (first: {first[0]}: {first[1]}); "
            "finished ones are kept, rerun to retry the rest"
        )
    return result


def _apply(work: WorkFn, payload: Any) -> dict[str, Any]:
    """A plain function for Ray to wrap: work functions may be partials or callables."""
    return work(payload)


def _ray_outcomes(
    todo: Sequence[Unit], work: WorkFn, processes: int, engine: Engine, gpus_per_task: float
) -> Iterator[tuple[Unit, Callable[[], dict[str, Any]]]]:
    """Run the units as Ray tasks; yield each with a getter of its result as it finishes."""
    if not engine.ray_address:
        os.environ.setdefault(RAY_MULTI_NODE_SWITCH, "0")
    try:
        import ray
    except ImportError as exc:
        raise InputError(
            "the ray engine needs the ray package: pip install 'wit-pipeline[ray]'"
        ) from exc
    started_here = not ray.is_initialized()
    if started_here:
        if engine.ray_address:
            ray.init(address=engine.ray_address, log_to_driver=False)
        else:
            ray.init(num_cpus=max(1, processes), include_dashboard=False, log_to_driver=False)
    try:
        remote = ray.remote(num_gpus=gpus_per_task)(_apply) if gpus_per_task else ray.remote(_apply)
        refs = {remote.remote(work, unit.payload): unit for unit in todo}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                yield refs[ref], lambda ref=ref: ray.get(ref)
    finally:
        if started_here:
            ray.shutdown()


def mark_stage_done(marker_dir: Path | str, info: dict[str, Any]) -> None:
    """Record that every unit of a stage's folder finished, with the stage's facts."""
    Markers(marker_dir).mark_stage_done(info)


def record_units(marker_dir: Path | str, infos: dict[str, dict[str, Any]]) -> None:
    """Mark units the stage produced in one step of its own (scrape's merged parts) as done."""
    markers = Markers(marker_dir)
    for unit, info in infos.items():
        markers.mark_done(unit, info, publish=False)  # on a store: with the parts, at the end


def forget_units(marker_dir: Path | str, units: Sequence[str] = (), *, every: bool = False) -> None:
    """Forget the markers of `units` (or, with `every`, all of the folder's, stage marker
    included), so the next run does them again."""
    markers = Markers(marker_dir)
    if every:
        markers.clear()
    for unit in units:
        markers.forget(unit)

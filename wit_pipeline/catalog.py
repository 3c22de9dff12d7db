"""The workspace as a DuckDB database: one view per table contract over the parquet files the
stages wrote (pairs, samples, scores, decisions, manifest), kept in `W/catalog.duckdb` so any
DuckDB client can query the dataset.

Views read the files in place (globs, so shards added later show up) and are created again by
every `sql` and `report` run; stages call `refresh_catalog` when they finish. `samples` and
`scores` get a `shard` column (the raw shard the row comes from) to join with `decisions`.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from wit_pipeline.core.errors import InputError
from wit_pipeline.core.stage import Output
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages import PIPELINE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableSource:
    """One view: a stage's declared view (the files it reads, as a relative glob) and the
    command that writes them."""

    view: str
    pattern: str
    command: str
    per_shard: bool = False

    def files(self, workspace: Workspace) -> list[Path]:
        """The files the view reads now (temporary files never match the patterns)."""
        return sorted(p for p in workspace.root.glob(self.pattern) if p.is_file())

    def create_sql(self, workspace: Workspace) -> str:
        """The CREATE VIEW statement over this source's files in `workspace`."""
        pattern = _sql_text(f"{glob.escape(str(workspace.root.resolve()))}/{self.pattern}")
        if not self.per_shard:
            return f"CREATE OR REPLACE VIEW {self.view} AS SELECT * FROM read_parquet({pattern})"
        return (
            f"CREATE OR REPLACE VIEW {self.view} AS SELECT * EXCLUDE (filename), "
            r"regexp_extract(filename, '([^/\\]+)\.parquet$', 1) AS shard "
            f"FROM read_parquet({pattern}, filename = true, union_by_name = true)"
        )


SOURCES = tuple(
    TableSource(view.name, view.pattern, stage.name, view.per_shard)
    for stage in PIPELINE
    for output in stage.outputs
    for view in output.views
)
VIEWS = tuple(source.view for source in SOURCES)
CATALOG_OUTPUT = Output(name="catalog", path="catalog.duckdb")
"""The catalog file, as status lists it (written by `sql`, `report` and every stage run)."""


@dataclass
class Catalog:
    """An open connection with the workspace's views; `missing` maps each view whose stage has
    not written anything yet to that stage's source."""

    connection: duckdb.DuckDBPyConnection
    workspace: Workspace
    missing: dict[str, TableSource] = field(default_factory=dict)

    def has(self, view: str) -> bool:
        """Whether `view` has files behind it."""
        return view not in self.missing

    def query(self, sql: str, params: dict | None = None) -> pa.Table:
        """Run `sql` and return its result; a query on a view whose stage has not run, or bad
        SQL, is an InputError with one line saying what to do."""
        try:
            relation = self.connection.sql(sql, params=params)
            result = relation.arrow() if relation is not None else pa.table({})
        except duckdb.CatalogException as exc:
            raise InputError(self._missing_view_message(str(exc))) from exc
        except duckdb.Error as exc:
            raise InputError(f"sql: {_first_line(exc)}") from exc
        return result.read_all() if isinstance(result, pa.RecordBatchReader) else result

    def rows(self, sql: str, params: dict | None = None) -> list[dict]:
        """The result of `sql` as a list of row dicts."""
        return self.query(sql, params).to_pylist()

    def scalar(self, sql: str, params: dict | None = None):
        """The first column of the first row of `sql`'s result."""
        table = self.query(sql, params)
        return table.column(0)[0].as_py() if table.num_rows else None

    def _missing_view_message(self, error: str) -> str:
        for view, source in self.missing.items():
            if f"with name {view} does not exist" in error:
                return (
                    f"view '{view}' has no data yet: nothing matches "
                    f"{self.workspace.root / source.pattern}; run `wit-pipeline "
                    f"{source.command}` first"
                )
        return f"sql: {error.splitlines()[0]}"


def _sql_text(value: str) -> str:
    """`value` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    """The catalog file, or a private in-memory catalog when it cannot be opened: another
    process holds its lock (DuckDB allows one writing process), the folder is read-only, the
    file is damaged. It holds only views, so the answers are the same either way."""
    if "?" in str(path):
        # DuckDB reads `?` in a file name as the start of URL parameters
        log.info("%s: a '?' in the path; using an in-memory catalog", path)
        return duckdb.connect()
    try:
        return duckdb.connect(str(path))
    except duckdb.Error as exc:
        reason = str(exc).splitlines()[0]
        level = logging.INFO if "lock" in reason.lower() else logging.WARNING
        log.log(level, "%s: %s; using an in-memory catalog", path, reason)
        return duckdb.connect()


def create_views(connection: duckdb.DuckDBPyConnection, workspace: Workspace) -> dict:
    """(Re)create a view per source with files; drop the others. The missing sources by view."""
    missing = {}
    for source in SOURCES:
        if source.files(workspace):
            connection.execute(source.create_sql(workspace))
        else:
            connection.execute(f"DROP VIEW IF EXISTS {source.view}")
            missing[source.view] = source
    return missing


@contextmanager
def open_catalog(workspace: Workspace) -> Iterator[Catalog]:
    """The workspace's catalog file with fresh views, closed on exit (what stages and the report
    use; users' own SQL goes through `query_catalog`)."""
    _require(workspace)
    connection = _connect(workspace.catalog_path)
    try:
        yield Catalog(connection, workspace, create_views(connection, workspace))
    finally:
        connection.close()


READ_ONLY_STATEMENTS = (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN)


@contextmanager
def query_catalog(workspace: Workspace) -> Iterator[Catalog]:
    """A private, read-only catalog for users' SQL: the workspace's views in memory, then
    DuckDB locked down: no file outside the workspace, no extension installs or loads, no
    setting changed back; `checked_query` accepts one SELECT or EXPLAIN only. The catalog file
    is never written."""
    _require(workspace)
    connection = duckdb.connect(config={"autoinstall_known_extensions": False,
                                        "autoload_known_extensions": False})  # fmt: skip
    try:
        missing = create_views(connection, workspace)
        root = str(workspace.root.resolve())
        # the views name files by an escaped glob (core.storage); DuckDB checks that spelling
        allowed = ", ".join(_sql_text(f"{r}/") for r in sorted({root, glob.escape(root)}))
        connection.execute(f"SET allowed_directories = [{allowed}]")
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
        yield Catalog(connection, workspace, missing)
    finally:
        connection.close()


def checked_query(catalog: Catalog, sql: str) -> pa.Table:
    """Run one user query after checking that it only reads (one SELECT or EXPLAIN)."""
    try:
        statements = catalog.connection.extract_statements(sql)
    except duckdb.Error as exc:
        raise InputError(f"sql: {_first_line(exc)}") from exc
    if len(statements) != 1 or statements[0].type not in READ_ONLY_STATEMENTS:
        kinds = ", ".join(s.type.name for s in statements) or "nothing"
        raise InputError(
            f"sql: one read-only query is allowed (SELECT, WITH ... SELECT, DESCRIBE, SHOW, "
            f"EXPLAIN), got {kinds}; the workspace is never written by sql"
        )
    return catalog.query(sql)


def _require(workspace: Workspace) -> None:
    if not workspace.exists():
        raise InputError(
            f"{workspace.root}: no workspace there (pass --workdir or set WIT_WORKDIR)"
        )


def refresh_catalog(workspace: Workspace) -> list[str]:
    """Bring `W/catalog.duckdb` up to date with the files on disk; the views it now holds.
    Stages call this after writing their output."""
    with open_catalog(workspace) as catalog:
        return [view for view in VIEWS if catalog.has(view)]

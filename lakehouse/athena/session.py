"""The second wall: a DuckDB connection that holds what the session may read, and nothing else.

A tenant :class:`Session` copies the tenant's rows of the tables its statements read into
in-memory tables, then locks itself for good before any user SQL runs:

- no file can be opened (``enable_external_access`` off, ``allowed_directories`` empty; DuckDB
  still lets a session use its own ``temp_directory``, so each session gets a private one,
  mode 0700, removed when it closes);
- DuckDB's table functions (files, catalog, settings, secrets, ``query``) and the scalar
  functions that read settings, the environment or run SQL text are shadowed by macros that
  fail, so even SQL that slipped past :mod:`lakehouse.athena.guard` finds nothing to call;
- extensions are neither installed nor loaded, Python objects are not scanned by name, and the
  configuration is locked.

The system catalog (``information_schema``, ``pg_catalog``) cannot be removed from DuckDB; in
a tenant session it lists only the tenant's own copied tables (no file paths, no other
tenant). A session without a tenant reads the lake through views and is confined to the lake's
bronze, silver and gold folders; an Iceberg snapshot it reads at a second call (and whose data
files are small) is copied into an in-memory table, which answers until a commit replaces the
snapshot (:meth:`Session._keep_in_memory`).

Every statement runs under a deadline (a timer that interrupts the connection) and the
session's memory limit.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from lakehouse.athena import views
from lakehouse.athena.errors import AthenaQueryError, athena_error
from lakehouse.athena.fetch import LargeResults, ResultValues, fetch_text, fetch_values
from lakehouse.catalog.store import DATABASES, CatalogTable

if TYPE_CHECKING:
    from lakehouse.athena.iceberg_plan import Planned

# DuckDB scalar functions that read settings, variables, the environment or the catalog, or that
# plan or run SQL passed as text. Athena has none of them.
_SHADOWED_SCALARS = (
    "current_setting",
    "getenv",
    "getvariable",
    "current_database",
    "current_schema",
    "current_schemas",
    "json_serialize_sql",
    "json_deserialize_sql",
    "json_serialize_plan",
    "which_secret",
    "sql_auto_complete",
    "version",
)
# Table functions a tenant's SQL may still need (they produce rows from their arguments only).
_KEPT_TABLE_FUNCTIONS = frozenset({"unnest", "range", "generate_series", "repeat"})


# An all-tenant session keeps in memory an Iceberg snapshot read at this many of its calls,
# whose data files hold at most KEEP_TABLE_BYTES, while its copies' files total at most
# KEEP_SESSION_BYTES (Session._keep_in_memory).
KEEP_AT_READS = 2
KEEP_TABLE_BYTES = 32 * 2**20
KEEP_SESSION_BYTES = 128 * 2**20


@dataclass
class _Registered:
    """What a session made of a table: from which source SQL, how, and how often read."""

    sql: str
    kind: str  # "view" or "table"
    reads: int = 1
    kept_bytes: int = 0  # data file bytes copied into memory (see Session._keep_in_memory)
    too_big: bool = False  # too big to keep in memory; not measured again


@dataclass(frozen=True)
class Limits:
    """Resource limits of one session."""

    timeout_seconds: float = 60.0
    memory_limit: str = "2GiB"


class Session:
    """One in-memory DuckDB connection with a schema per catalog database.

    Args:
        tenant_id: The tenant whose rows the session holds; ``None`` reads every tenant.
        lake_root: The local lake root (locations must lie under it).
        limits: Timeout and memory limit.
        planned: The Iceberg sources its engine already made, to find a table's current
            snapshot in (:class:`lakehouse.athena.iceberg_plan.Planned`).
    """

    def __init__(
        self,
        tenant_id: str | None,
        lake_root: Path,
        limits: Limits,
        planned: Planned | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.lake_root = lake_root
        self.limits = limits
        self.planned = planned
        self.temp_dir = Path(tempfile.mkdtemp(prefix="lakehouse-duckdb-session-"))
        try:
            self.con = duckdb.connect(
                ":memory:",
                config={
                    "memory_limit": limits.memory_limit,
                    "temp_directory": str(self.temp_dir),
                    "autoinstall_known_extensions": False,
                    "autoload_known_extensions": False,
                    "allow_community_extensions": False,
                    "python_enable_replacements": False,
                },
            )
        except BaseException:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            raise
        self._registered: dict[str, _Registered] = {}  # by qualified name
        self._kept_bytes = 0  # data file bytes of the snapshots kept in memory
        self.locked = False
        # Statements whose latest result here was large: fetched as Arrow from the first row.
        self.large_results = LargeResults()
        # Athena evaluates timestamps in UTC; DuckDB's session zone would otherwise leak in.
        self.con.execute("set TimeZone = 'UTC'")
        # Results go to stdout; a progress bar there would corrupt them.
        self.con.execute("set enable_progress_bar = false")
        # A session without a tenant reads the same data files at every call; their footers
        # are parsed once (DuckDB keeps them by file, checked against its modification time).
        # Iceberg never rewrites a data file, so the cache is only ever a copy of the file.
        self.con.execute("set parquet_metadata_cache = true")
        for database in DATABASES:
            self.con.execute(f"create schema if not exists {database}")

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def engine_rows(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        """Rows of an engine-built query (never user SQL)."""
        return self.con.execute(sql, list(params)).fetchall()

    def register(
        self,
        tables: Sequence[CatalogTable],
        deadline: float,
        sources: Mapping[str, views.Source] | None = None,
    ) -> None:
        """Create the views (or, for a tenant, the copied tables) of ``tables``.

        ``sources`` holds the sources already resolved for some of them, by qualified name
        (:class:`lakehouse.athena.pool.SessionPool` keys a session by exactly what it copied).
        """
        for table in tables:
            registered = self._registered.get(table.qualified_name)
            if registered is not None and self.tenant_id is not None:
                continue
            if self.locked and self.tenant_id is not None:
                raise AthenaQueryError(
                    "ACCESS_DENIED",
                    f"{table.qualified_name} was not part of the tenant session's tables; "
                    "run it in a new session",
                )
            target = f"{table.database}.{views.ident(table.name)}"
            # Resolved again at every call of a session without a tenant (it serves every
            # call of its engine): a commit since the last call is read, not the files of the
            # snapshot current when the view was first made.
            source = (sources or {}).get(table.qualified_name) or views.resolve(
                table, self.tenant_id, self.lake_root, self.planned
            )
            if registered is not None and registered.sql == source.sql:
                registered.reads += 1
                if registered.kind == "view" and source.immutable:
                    self._keep_in_memory(table, target, source, registered, deadline)
                continue
            kind = "table" if self.tenant_id is not None or source.copy else "view"
            self._create(table, target, kind, source.sql, registered, deadline)
            self._registered[table.qualified_name] = _Registered(source.sql, kind)

    def _create(
        self,
        table: CatalogTable,
        target: str,
        kind: str,
        sql: str,
        registered: _Registered | None,
        deadline: float,
    ) -> None:
        """Create ``target`` (a view or a table) as ``sql``, in place of what it was."""
        statements = [f"create or replace {kind} {target} as {sql}"]
        if registered is not None and registered.kind != kind:
            # A snapshot kept in memory, now replaced by a commit (or the reverse).
            statements.insert(0, f"drop {registered.kind} {target}")
        if registered is not None:
            self._kept_bytes -= registered.kept_bytes
            del self._registered[table.qualified_name]
        self._in_transaction(table, statements, deadline)

    def _keep_in_memory(
        self,
        table: CatalogTable,
        target: str,
        source: views.Source,
        registered: _Registered,
        deadline: float,
    ) -> None:
        """Copy a small snapshot read again by this all-tenant session into memory.

        A view over an Iceberg snapshot's data files opens every file at every query (64 at
        10,000 tenants, each a few kilobytes). A snapshot is immutable, so a copy of its rows
        answers exactly as the view would, until a commit makes a new source (then the table
        is a view again). Only a snapshot read at :data:`KEEP_AT_READS` calls is copied (a
        one-off query never pays for a copy of columns it does not read), and only while its
        data files hold at most :data:`KEEP_TABLE_BYTES` and the session's copies at most
        :data:`KEEP_SESSION_BYTES`.
        """
        if self.tenant_id is not None or source.copy or registered.reads < KEEP_AT_READS:
            return
        if registered.too_big:
            return
        size = sum(os.stat(path).st_size for path in source.paths)
        if size > KEEP_TABLE_BYTES or self._kept_bytes + size > KEEP_SESSION_BYTES:
            registered.too_big = True
            return
        self._in_transaction(
            table,
            [f"drop view {target}", f"create table {target} as {source.sql}"],
            deadline,
        )
        registered.kind = "table"
        registered.kept_bytes = size
        self._kept_bytes += size

    def _in_transaction(
        self, table: CatalogTable, statements: Sequence[str], deadline: float
    ) -> None:
        """Run ``statements`` in one transaction: all of them happen, or none."""
        self.con.execute("begin transaction")
        try:
            for statement in statements:
                self.run(statement, deadline)
            self.con.execute("commit")
        except AthenaQueryError as exc:
            self.con.execute("rollback")
            if exc.code == "EXCEEDED_TIME_LIMIT":
                raise
            raise AthenaQueryError(
                "HIVE_BAD_DATA", f"{table.qualified_name} cannot be read: {exc}"
            ) from exc
        except BaseException:
            self.con.execute("rollback")
            raise

    def lock_down(self) -> None:
        """Confine DuckDB for good (see the module docstring)."""
        if self.tenant_id is not None:
            self._shadow_functions()
            folders: list[str] = []
        else:
            # Views read the lake's files when they are queried.
            folders = [f"{self.lake_root / database}/" for database in DATABASES]
        allowed = "[" + ", ".join(views.lit(f) for f in folders) + "]"
        self.con.execute(f"set allowed_directories = {allowed}")
        self.con.execute("set enable_external_access = false")
        self.con.execute("set lock_configuration = true")
        self.locked = True

    def _shadow_functions(self) -> None:
        # A macro in the session's own schema is found before a built-in of the same name.
        table_functions = {
            str(name)
            for (name,) in self.con.execute(
                "select distinct function_name from duckdb_functions() "
                "where function_type in ('table', 'table_macro', 'pragma') "
                "and database_name = 'system'"
            ).fetchall()
        }
        message = views.lit("not available in a tenant session")
        for name in sorted(table_functions - _KEPT_TABLE_FUNCTIONS):
            self.con.execute(
                f"create or replace macro {views.ident(name)}() as table "
                f"select error({message}) as denied"
            )
        for name in _SHADOWED_SCALARS:
            self.con.execute(f"create or replace macro {views.ident(name)}() as error({message})")

    def run(
        self, sql: str, deadline: float, as_text: bool = False
    ) -> tuple[ResultValues, list[Any]]:
        """Values and column descriptions of ``sql``, interrupted at ``deadline``.

        ``deadline`` is a ``time.monotonic()`` value. ``as_text``: the caller only prints the
        values; DuckDB casts them to text where it can (:func:`~lakehouse.athena.fetch.fetch_text`).

        Raises:
            AthenaQueryError: ``EXCEEDED_TIME_LIMIT`` past the deadline; any DuckDB error in
                Athena's terms.
        """
        return run_on(self.con, sql, deadline, self.limits, as_text, self.large_results)


def run_on(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    deadline: float,
    limits: Limits,
    as_text: bool = False,
    large_results: LargeResults | None = None,
) -> tuple[ResultValues, list[Any]]:
    """:meth:`Session.run` on ``con`` (a session's connection or a cursor of it); with
    ``large_results``, the session's memory of which statements give a large result."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _timed_out(limits)
    fired = threading.Event()
    done = threading.Event()

    def interrupt() -> None:
        if done.wait(remaining):
            return
        fired.set()
        # DuckDB's interrupt stops only the statement running at that moment: the deadline
        # may fall between two statements (the text path binds, then runs; a slow bind's
        # error makes it step back to the plain path), so the statement that starts next
        # must be stopped too. Interrupt again until the caller is done.
        while True:
            con.interrupt()
            if done.wait(_REINTERRUPT_SECONDS):
                return

    watchdog = threading.Thread(target=interrupt, name="athena-deadline", daemon=True)
    watchdog.start()
    try:
        text = fetch_text(con, sql) if as_text else None
        if text is not None:
            return text
        if fired.is_set():
            raise _timed_out(limits)
        cursor = con.execute(sql)
        description = list(cursor.description or [])
        values = fetch_values(cursor) if large_results is None else large_results.fetch(cursor, sql)
    except duckdb.Error as exc:
        if fired.is_set():
            raise _timed_out(limits) from exc
        raise athena_error(exc) from exc
    finally:
        done.set()
        # No interrupt may reach the caller's next statement (a rollback, the next query).
        watchdog.join()
    return values, description


_REINTERRUPT_SECONDS = 0.02
"""How often the deadline's watchdog interrupts again once the deadline has passed."""


def _timed_out(limits: Limits) -> AthenaQueryError:
    return AthenaQueryError(
        "EXCEEDED_TIME_LIMIT",
        f"Query exceeded the maximum execution time of {limits.timeout_seconds:g} s; make it "
        "cheaper or raise the limit (--timeout, LAKEHOUSE_ATHENA_TIMEOUT)",
    )

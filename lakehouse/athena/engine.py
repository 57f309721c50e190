"""Athena SQL on DuckDB: parse as Athena (Trino), check, resolve through the catalog, run.

Every statement goes through four steps, each in its own module:

1. **Parse and check** (:mod:`~lakehouse.athena.guard`): sqlglot's ``athena`` dialect, then an
   allow-list of statement kinds, catalog tables and functions. A parse error is
   ``SYNTAX_ERROR``. Before the check, time travel (``FOR VERSION|TIMESTAMP AS OF``) and
   Iceberg metadata tables (``"orders$snapshots"``) are bound to derived catalog entries
   (:mod:`~lakehouse.athena.iceberg`).
2. **Resolve** (:mod:`~lakehouse.athena.views`) each referenced table to a DuckDB source over
   its files: the data files of an Iceberg snapshot (silver and gold), Parquet with hive
   partitioning (a silver or gold written before Iceberg), the gzip CSV of the bronze contract
   for bronze.
3. **Lock down** (:mod:`~lakehouse.athena.session`) the DuckDB connection to the folders and
   files those sources read.
4. **Translate** (:mod:`~lakehouse.athena.translate`) to DuckDB SQL and run; DuckDB errors are
   reported in Athena terms (:mod:`~lakehouse.athena.errors`), results kept as Athena keeps
   them (:mod:`~lakehouse.athena.results`).

Steps 1 and 4 give the same statements for the same text, catalog, limits and code: they run
once, and later runs take their outcome as kept under those inputs, without importing sqlglot
(:mod:`~lakehouse.athena.prepared`).

With a tenant, the check is the first wall and DuckDB is the second: silver and gold rows are
copied filtered by ``tenant_id`` (from the Iceberg files planned for that tenant, which hold other
tenants of its bucket too, or a plain Parquet table's ``tenant_id=<uuid>`` folders), bronze rows
filtered by the tenant column, and then the session is locked down.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from lakehouse.athena import prepared, translate, views
from lakehouse.athena.errors import AthenaQueryError
from lakehouse.athena.iceberg_plan import Planned
from lakehouse.athena.pool import Lease, SessionKey, SessionPool
from lakehouse.athena.results import QueryResult, ResultStore, text_value, write_csv
from lakehouse.athena.session import Limits, Session
from lakehouse.catalog.store import Catalog, CatalogTable, load_catalog, local_dir
from lakehouse.config import Settings
from lakehouse.errors import LakehouseError

if TYPE_CHECKING:
    from sqlglot import exp
    from sqlglot.schema import MappingSchema

    from lakehouse.athena.guard import split_statements

__all__ = [
    "AthenaEngine",
    "AthenaQueryError",
    "QueryResult",
    "split_statements",
    "text_value",
    "write_csv",
]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def __getattr__(name: str) -> Any:
    # split_statements lives in the guard, which imports sqlglot: loaded when asked for.
    if name == "split_statements":
        from lakehouse.athena.guard import split_statements

        return split_statements
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class _Statement:
    text: str
    tables: tuple[CatalogTable, ...]
    duck_sql: str


def _bind_iceberg(tree: exp.Expr, catalog: Catalog) -> tuple[exp.Expr, Catalog]:
    """:func:`lakehouse.athena.iceberg.bind` when ``tree`` names a snapshot or a metadata table.

    Only then: binding needs pyiceberg, whose import costs more than a small query.
    """
    from sqlglot import exp

    if any(t.args.get("version") is not None or "$" in t.name for t in tree.find_all(exp.Table)):
        from lakehouse.athena import iceberg

        return iceberg.bind(tree, catalog)
    return tree, catalog


class AthenaEngine:
    """Runs Athena SQL on an in-process DuckDB over the local lake.

    Args:
        settings: Where the lake, the catalog and the results live, and the session limits.
        tenant: A tenant's ``slug`` or ``id`` (from ``silver.tenants``; it must exist, and a
            blank value is an error, never "every tenant"). Every table then holds only that
            tenant's rows, each :meth:`execute` runs in a new locked session, and results go
            under the tenant's own results prefix.
        catalog: The catalog to resolve names with (read from ``settings.catalog_uri`` if
            omitted).
        save_results: Keep each result CSV and a metadata JSON under
            ``settings.athena_results_uri`` (as Athena keeps them in its output location).
        timeout_seconds: Longest a call to :meth:`execute` runs (default: the setting).
        sessions: Keep tenant sessions here and reuse them (:mod:`lakehouse.athena.pool`):
            a call whose tables are all Iceberg snapshots gets a kept session built for the
            same tenant from the same snapshots, if there is one, instead of a new session.
    """

    def __init__(
        self,
        settings: Settings,
        tenant: str | None = None,
        catalog: Catalog | None = None,
        save_results: bool = True,
        timeout_seconds: float | None = None,
        sessions: SessionPool | None = None,
    ) -> None:
        self.settings = settings
        self._pool = sessions
        if catalog is None:
            catalog = (
                sessions.catalog(settings.catalog_uri)
                if sessions is not None
                else load_catalog(settings.catalog_uri)
            )
        self.catalog = catalog
        self.save_results = save_results
        self.lake_root = local_dir(settings.lake_uri, "the lake").resolve()
        timeout = settings.athena_timeout_seconds if timeout_seconds is None else timeout_seconds
        if not 0 < timeout <= 86400:  # also false for NaN
            raise LakehouseError(
                f"the query timeout must be between 0 and 86400 seconds, not {timeout}"
            )
        self.limits = Limits(timeout_seconds=timeout, memory_limit=settings.athena_memory_limit)
        self.tenant_slug: str | None = None
        self.tenant_id: str | None = None
        # Iceberg sources made by this engine: a later call at the same snapshot reuses them.
        self._planned = Planned()
        if tenant is not None:
            self.tenant_id, self.tenant_slug = self._resolve_tenant(tenant)
        results_root = local_dir(settings.athena_results_uri, "the Athena results location")
        self._schema: MappingSchema | None = None  # built when a statement is translated
        self._results = ResultStore(
            results_root
            if self.tenant_id is None
            else results_root / f"tenant_id={self.tenant_id}",
            tenant_slug=self.tenant_slug,
            tenant_id=self.tenant_id,
        )
        self._session: Session | None = None
        self._lease: Lease | None = None
        self._functions_installed = False

    @property
    def _con(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection of the latest session (for tests of the second wall)."""
        if self._lease is not None:
            return self._lease.con
        if self._session is None:
            raise LakehouseError("no session yet: call execute() first")
        return self._session.con

    def close(self) -> None:
        if self._lease is not None:
            self._lease.close()
            self._lease = None
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> AthenaEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _resolve_tenant(self, tenant: str) -> tuple[str, str]:
        """``(id, slug)`` of the tenant named by slug or id."""
        wanted = tenant.strip()
        if not wanted:
            raise LakehouseError(
                "the tenant is blank; give a tenant slug or id (an empty value never means "
                '"every tenant"), or leave --tenant out to query every tenant'
            )
        tenants = self.catalog.get("silver", "tenants")
        if tenants is None:
            raise LakehouseError(
                "--tenant needs silver.tenants in the catalog: run the pipeline, then "
                "`lakehouse crawl`"
            )
        source = views.resolve(tenants, None, self.lake_root, self._planned)
        if self._pool is not None and source.immutable:
            directory = self._pool.tenant_directory(
                self.lake_root, source.sql, lambda: self._tenant_rows(source.sql)
            )
        else:
            directory = self._tenant_rows(source.sql)
        rows = sorted(
            {
                (i, slug)
                for i, slug in directory
                if slug == wanted or (i is not None and i.lower() == wanted.lower())
            },
            key=str,
        )
        if len(rows) != 1:
            raise LakehouseError(
                f"no tenant with slug or id {wanted!r} in silver.tenants; list them with "
                '`lakehouse athena "select id, slug, name from silver.tenants"`'
                if not rows
                else f"{wanted!r} names {len(rows)} tenants in silver.tenants; use the id"
            )
        tenant_id, slug = str(rows[0][0]).lower(), str(rows[0][1])
        if not _UUID.fullmatch(tenant_id):
            raise LakehouseError(
                f"tenant {slug!r} has id {tenant_id!r} in silver.tenants, which is not a UUID"
            )
        return tenant_id, slug

    def _tenant_rows(self, source_sql: str) -> tuple[tuple[str | None, str | None], ...]:
        """Every ``(id, slug)`` of ``silver.tenants`` (read by ``source_sql``)."""
        session = Session(None, self.lake_root, self.limits)
        try:
            rows = session.engine_rows(
                f"select distinct cast(id as varchar), slug from ({source_sql})", []
            )
        finally:
            session.close()
        return tuple(
            (None if i is None else str(i), None if n is None else str(n)) for i, n in rows
        )

    def prepare(self, text: str) -> list[_Statement]:
        """Parse, check and translate every statement of ``text`` (nothing runs).

        Statements prepared before against the same catalog are taken as they were kept
        (:mod:`lakehouse.athena.prepared`); the others are prepared and kept.
        """
        fingerprint = self.catalog.fingerprint
        key = None
        if fingerprint is not None:
            limits = (self.settings.athena_max_sql_bytes, self.settings.athena_max_nesting)
            key = prepared.key_of(text, fingerprint, *limits)
            kept = prepared.load(self.lake_root, key)
            statements = self._from_kept(kept) if kept is not None else None
            if statements is not None:
                return statements
        statements, keep = self._prepare_now(text)
        if key is not None and fingerprint is not None and keep:
            kept_now = [
                prepared.Prepared(
                    text=st.text,
                    duck_sql=st.duck_sql,
                    tables=tuple(t.qualified_name for t in st.tables),
                )
                for st in statements
            ]
            prepared.save(self.lake_root, key, kept_now, fingerprint)
        return statements

    def _from_kept(self, kept: list[prepared.Prepared]) -> list[_Statement] | None:
        """The kept statements with their catalog tables; None if one names an unknown table."""
        out = []
        for st in kept:
            tables = []
            for name in st.tables:
                database, _, table_name = name.partition(".")
                table = self.catalog.get(database, table_name)
                if table is None:
                    return None
                tables.append(table)
            out.append(_Statement(text=st.text, tables=tuple(tables), duck_sql=st.duck_sql))
        return out

    def _prepare_now(self, text: str) -> tuple[list[_Statement], bool]:
        """The statements of ``text``, and whether they depend on the catalog alone."""
        from lakehouse.athena import guard

        out = []
        catalog_only = True
        for parsed in guard.split_statements(text, self.settings.athena_max_sql_bytes):
            try:
                # Time travel and metadata tables of Iceberg tables become derived catalog
                # entries (lakehouse.athena.iceberg), which the guard checks like any table.
                tree, catalog = _bind_iceberg(parsed, self.catalog)
                tables = guard.check(tree, catalog, self.settings.athena_max_nesting)
                rendered = tree.sql(guard.READ_DIALECT)
                if catalog is self.catalog:
                    if self._schema is None:
                        self._schema = translate.schema_of(self.catalog)
                    schema = self._schema
                else:
                    catalog_only = False
                    schema = translate.schema_of(catalog)
                duck_sql = translate.to_duckdb(tree, schema, copy=False)  # tree not used after
            except RecursionError as exc:
                raise AthenaQueryError("SYNTAX_ERROR", "the query is nested too deeply") from exc
            out.append(_Statement(text=rendered, tables=tables, duck_sql=duck_sql))
        return out, catalog_only

    def _session_for(
        self, tables: list[CatalogTable], deadline: float, functions: bool
    ) -> Session | Lease:
        """A locked session that can read ``tables`` (and call the translation's functions).

        Without a tenant one session serves every call (it is confined to the lake and adds
        views as statements need them). With a tenant each call gets a new session holding
        exactly the tenant's rows of the tables it reads, locked before any user SQL runs, or
        a lease of such a session kept in ``sessions``.
        """
        if self.tenant_id is not None and self._pool is not None:
            lease = self._kept_session(self._pool, self.tenant_id, tables, deadline, functions)
            if lease is not None:
                return lease
        if self.tenant_id is None and self._session is not None:
            if functions and not self._functions_installed:
                translate.install(self._session.con)  # pure functions: no file access
                self._functions_installed = True
            self._session.register(tables, deadline)
            return self._session
        self.close()
        session = Session(self.tenant_id, self.lake_root, self.limits, self._planned)
        try:
            if functions:
                translate.install(session.con)  # the translation's macros and UDFs (pure)
            self._functions_installed = functions
            if self.tenant_id is None:
                session.lock_down()
                session.register(tables, deadline)
            else:
                session.register(tables, deadline)
                session.lock_down()
        except BaseException:
            session.close()
            raise
        self._session = session
        return session

    def _kept_session(
        self,
        pool: SessionPool,
        tenant_id: str,
        tables: list[CatalogTable],
        deadline: float,
        functions: bool,
    ) -> Lease | None:
        """A lease of the kept session for ``tables`` as they are now (None: not keepable)."""
        sources = {
            t.qualified_name: views.resolve(t, tenant_id, self.lake_root, self._planned)
            for t in tables
        }
        if not all(source.immutable for source in sources.values()):
            return None
        key = SessionKey(
            lake_root=self.lake_root,
            tenant_id=tenant_id,
            memory_limit=self.limits.memory_limit,
            functions=functions,
            sources=tuple(sorted((name, source.sql) for name, source in sources.items())),
        )

        def build() -> Session:
            session = Session(tenant_id, self.lake_root, self.limits)
            try:
                if functions:
                    translate.install(session.con)  # the translation's macros and UDFs (pure)
                session.register(tables, deadline, sources)
                session.lock_down()
            except BaseException:
                session.close()
                raise
            return session

        self.close()
        self._lease = pool.lease(key, build)
        return self._lease

    def execute(self, text: str, as_text: bool = False) -> list[QueryResult]:
        """Run every statement of ``text`` in order; all are checked before the first runs.

        The timeout covers the whole call: reading the tables and every statement.
        ``as_text``: the caller only prints the results (their text and CSV): DuckDB makes
        the text where it can (:func:`~lakehouse.athena.fetch.fetch_text`), so pyarrow is not
        loaded; Python values are then made from the text if asked for.
        """
        deadline = time.monotonic() + self.limits.timeout_seconds
        statements = self.prepare(text)
        needed: dict[str, CatalogTable] = {}
        for st in statements:
            for t in st.tables:
                needed[t.qualified_name] = t
        functions = any(translate.needs_functions(st.duck_sql) for st in statements)
        session = self._session_for(list(needed.values()), deadline, functions)
        return [self._run(session, st, deadline, as_text) for st in statements]

    def _run(
        self, session: Session | Lease, statement: _Statement, deadline: float, as_text: bool
    ) -> QueryResult:
        duck_sql = statement.duck_sql
        query_id = str(uuid.uuid4())
        started = time.perf_counter()
        try:
            values, description = session.run(duck_sql, deadline, as_text)
        except AthenaQueryError as error:
            if self.save_results:
                self._results.write_metadata(
                    query_id, statement.text, duck_sql, "FAILED", str(error), 0, 0.0
                )
            raise
        elapsed = (time.perf_counter() - started) * 1000
        columns = tuple(str(d[0]) for d in description)
        types = tuple(str(d[1]) for d in description)
        result = QueryResult(
            query_id=query_id,
            query=statement.text,
            duckdb_sql=duck_sql,
            columns=columns,
            types=types,
            values=values,
            elapsed_ms=round(elapsed, 2),
            tenant_id=self.tenant_id,
        )
        if not self.save_results:
            return result
        result_path: Path = self._results.write_result(query_id, columns, values)
        meta = self._results.write_metadata(
            query_id, statement.text, duck_sql, "SUCCEEDED", None, len(values), elapsed, columns
        )
        return replace(result, result_path=result_path, metadata_path=meta)

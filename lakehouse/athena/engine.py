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

With a tenant, the check is the first wall and DuckDB is the second: silver and gold views read
only that tenant's partition (its Iceberg data files, or its ``tenant_id=<uuid>`` folders), bronze
rows are copied filtered by the tenant column, and then the session is locked down.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
from sqlglot import exp

from lakehouse.athena import guard, iceberg, translate, views
from lakehouse.athena.errors import AthenaQueryError, athena_error
from lakehouse.athena.guard import READ_DIALECT, split_statements
from lakehouse.athena.results import QueryResult, ResultStore, text_value, write_csv
from lakehouse.athena.session import Session
from lakehouse.catalog.store import Catalog, CatalogTable, load_catalog, local_dir
from lakehouse.config import Settings
from lakehouse.errors import LakehouseError

__all__ = [
    "AthenaEngine",
    "AthenaQueryError",
    "QueryResult",
    "split_statements",
    "text_value",
    "write_csv",
]


@dataclass(frozen=True)
class _Statement:
    tree: exp.Expr
    text: str
    tables: tuple[CatalogTable, ...]
    duck_sql: str


class AthenaEngine:
    """Runs Athena SQL on an in-process DuckDB over the local lake.

    Args:
        settings: Where the lake, the catalog and the results live.
        tenant: A tenant ``slug`` (from ``silver.tenants``): every table then holds only that
            tenant's rows and DuckDB is locked down before any user SQL runs.
        catalog: The catalog to resolve names with (read from ``settings.catalog_uri`` if
            omitted).
        save_results: Keep each result CSV and a metadata JSON under
            ``settings.athena_results_uri`` (as Athena keeps them in its output location).
    """

    def __init__(
        self,
        settings: Settings,
        tenant: str | None = None,
        catalog: Catalog | None = None,
        save_results: bool = True,
    ) -> None:
        self.settings = settings
        self.catalog = catalog if catalog is not None else load_catalog(settings.catalog_uri)
        self.save_results = save_results
        self.tenant_slug = tenant
        lake_folders = [
            local_dir(uri, "a lake location")
            for uri in (settings.bronze_uri, settings.silver_uri, settings.gold_uri)
        ]
        unscoped = Session(None, lake_folders)
        try:
            self.tenant_id: str | None = self._resolve_tenant(unscoped, tenant) if tenant else None
        finally:
            unscoped.close()
        self._session = Session(self.tenant_id, lake_folders)
        translate.install(self._session.con)
        self._schema = translate.schema_of(self.catalog)
        self._results = ResultStore(
            local_dir(settings.athena_results_uri, "the Athena results location"),
            tenant_slug=tenant,
            tenant_id=self.tenant_id,
        )

    @property
    def _con(self) -> duckdb.DuckDBPyConnection:
        """The session's DuckDB connection (for tests of the second wall)."""
        return self._session.con

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> AthenaEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _resolve_tenant(self, session: Session, slug: str) -> str:
        tenants = self.catalog.get("silver", "tenants")
        if tenants is None:
            raise LakehouseError(
                "--tenant needs silver.tenants in the catalog: run the pipeline, then "
                "`lakehouse crawl`"
            )
        rows = session.scalar_rows(
            f"select cast(id as varchar) from ({views.resolve(tenants, None).sql}) where slug = ?",
            [slug],
        )
        if not rows:
            raise LakehouseError(
                f"no tenant with slug {slug!r} in silver.tenants; list them with "
                '`lakehouse athena "select slug, name from silver.tenants"`'
            )
        return str(rows[0][0])

    def prepare(self, text: str) -> list[_Statement]:
        """Parse, check and translate every statement of ``text`` (nothing runs)."""
        out = []
        for tree in split_statements(text):
            # Time travel and metadata tables of Iceberg tables become derived catalog entries
            # (lakehouse.athena.iceberg), which the guard then checks like any table.
            tree, catalog = iceberg.bind(tree, self.catalog)
            tables = guard.check(tree, catalog)
            text_of = tree.sql(READ_DIALECT)
            schema = self._schema if catalog is self.catalog else translate.schema_of(catalog)
            duck_sql = translate.to_duckdb(tree, schema, copy=False)  # tree not used after
            out.append(_Statement(tree=tree, text=text_of, tables=tables, duck_sql=duck_sql))
        return out

    def execute(self, text: str) -> list[QueryResult]:
        """Run every statement of ``text`` in order; all are checked before the first runs."""
        statements = self.prepare(text)
        needed: dict[str, CatalogTable] = {}
        for st in statements:
            for t in st.tables:
                needed[t.qualified_name] = t
        session = self._session
        if self.tenant_id is None and not session.locked:
            session.lock_down()
        session.register(list(needed.values()))
        if self.tenant_id is not None and not session.locked:
            session.lock_down()
        return [self._run(st) for st in statements]

    def _run(self, statement: _Statement) -> QueryResult:
        duck_sql = statement.duck_sql
        query_id = str(uuid.uuid4())
        started = time.perf_counter()
        try:
            cursor = self._session.con.execute(duck_sql)
            rows = cursor.fetchall()
        except duckdb.Error as exc:
            error = athena_error(exc)
            if self.save_results:
                self._results.write_metadata(
                    query_id, statement.text, duck_sql, "FAILED", str(error), 0, 0.0
                )
            raise error from exc
        elapsed = (time.perf_counter() - started) * 1000
        description = cursor.description or []
        columns = tuple(str(d[0]) for d in description)
        types = tuple(str(d[1]) for d in description)
        result = QueryResult(
            query_id=query_id,
            query=statement.text,
            duckdb_sql=duck_sql,
            columns=columns,
            types=types,
            rows=rows,
            elapsed_ms=round(elapsed, 2),
            tenant_id=self.tenant_id,
        )
        if not self.save_results:
            return result
        result_path: Path = self._results.write_result(query_id, columns, rows, types)
        meta = self._results.write_metadata(
            query_id, statement.text, duck_sql, "SUCCEEDED", None, len(rows), elapsed, columns
        )
        return replace(result, result_path=result_path, metadata_path=meta)

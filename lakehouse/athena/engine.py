"""Athena SQL on DuckDB: parse as Athena (Trino), check, resolve through the catalog, run.

Every statement goes through four steps:

1. **Parse** with sqlglot's ``athena`` dialect. A parse error is ``SYNTAX_ERROR``.
2. **Check** the tree against an allow-list: only queries (``select``, set operations,
   ``values``); every table must be ``[awsdatacatalog.]bronze|silver|gold.<table>`` known to the
   local catalog (or a CTE); no table functions, no file paths, no DuckDB-only functions that
   touch files, settings or the catalog. Athena has none of them, so they are refused always.
3. **Resolve** each referenced table to a DuckDB view over its files: Parquet with hive
   partitioning (``tenant_id`` from the folder names) for silver and gold, the gzip CSV of the
   bronze contract for bronze (empty unquoted field = NULL, ``""`` = empty string).
4. **Transpile** to DuckDB SQL and run; DuckDB errors are reported in Athena terms.

With a tenant, the check is the first wall and DuckDB is the second: silver and gold views read
only that tenant's ``tenant_id=<uuid>`` folders, bronze rows are copied filtered by the tenant
column, and then ``allowed_directories`` is set to the tenant's folders,
``enable_external_access`` is turned off and the configuration is locked, so that even a query
that slipped through the check cannot open another file, attach a database or change a setting.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError, UnsupportedError

from lakehouse.catalog.store import DATABASES, Catalog, CatalogTable, load_catalog, local_dir
from lakehouse.config import Settings
from lakehouse.errors import LakehouseError

READ_DIALECT = "athena"
ATHENA_CATALOG = "awsdatacatalog"

_QUERY_KINDS: tuple[type[exp.Expr], ...] = (exp.Select, exp.SetOperation, exp.Values)

# DuckDB functions that reach files, settings, extensions or the catalog. Athena has none of
# them; they are refused by name before anything runs.
_DENIED_FUNCTION_PREFIXES = (
    "read_",
    "parquet_",
    "duckdb_",
    "pragma_",
    "iceberg_",
    "delta_",
    "sqlite_",
    "postgres_",
    "mysql_",
    "pg_",
)
_DENIED_FUNCTIONS = frozenset(
    {
        "glob",
        "query",
        "query_table",
        "getenv",
        "current_setting",
        "sniff_csv",
        "load_extension",
        "which_secret",
        "json_execute_serialized_sql",
        "sql_auto_complete",
        "checkpoint",
        "force_checkpoint",
        "enable_logging",
        "disable_logging",
        "set_variable",
        "getvariable",
        "current_database",
        "current_schemas",
    }
)


class AthenaQueryError(LakehouseError):
    """A query failed; ``code`` is Athena's error name (``TABLE_NOT_FOUND``, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class QueryResult:
    """One finished statement, as Athena's GetQueryResults would describe it."""

    query_id: str
    query: str
    duckdb_sql: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    elapsed_ms: float
    result_path: Path | None = None
    metadata_path: Path | None = None
    tenant_id: str | None = None


@dataclass(frozen=True)
class _Statement:
    tree: exp.Expr
    text: str
    tables: tuple[CatalogTable, ...]


def _athena_type_to_duckdb(type_: str) -> str:
    t = type_.lower()
    if t.startswith("decimal"):
        return t.upper()
    return {
        "string": "VARCHAR",
        "varchar": "VARCHAR",
        "boolean": "BOOLEAN",
        "tinyint": "TINYINT",
        "smallint": "SMALLINT",
        "int": "INTEGER",
        "integer": "INTEGER",
        "bigint": "BIGINT",
        "float": "FLOAT",
        "double": "DOUBLE",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
        "binary": "BLOB",
    }.get(t, "VARCHAR")


def _lit(text: str) -> str:
    """A DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def split_statements(text: str) -> list[exp.Expr]:
    """Parse ``text`` (one or more ``;``-separated statements) as Athena SQL."""
    try:
        trees = sqlglot.parse(text, read=READ_DIALECT)
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f"line {first.get('line', '?')}:{first.get('col', '?')}: " if first else ""
        detail = first.get("description") or str(exc).splitlines()[0]
        raise AthenaQueryError("SYNTAX_ERROR", f"{where}{detail}") from exc
    except TokenError as exc:
        raise AthenaQueryError("SYNTAX_ERROR", str(exc)) from exc
    out = [t for t in trees if t is not None]
    if not out:
        raise AthenaQueryError("SYNTAX_ERROR", "the query text holds no statement")
    return out


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def _cte_names(tree: exp.Expr) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


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
        self._con = duckdb.connect(":memory:")
        # Athena evaluates timestamps in UTC; DuckDB's session zone would otherwise leak in.
        self._con.execute("set TimeZone = 'UTC'")
        for database in DATABASES:
            self._con.execute(f"create schema if not exists {database}")
        self._registered: set[str] = set()
        self._locked = False
        try:
            self.tenant_id: str | None = self._resolve_tenant(tenant) if tenant else None
        except BaseException:
            self._con.close()
            raise

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> AthenaEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tenant -------------------------------------------------------------------------------

    def _resolve_tenant(self, slug: str) -> str:
        tenants = self.catalog.get("silver", "tenants")
        if tenants is None:
            raise LakehouseError(
                "--tenant needs silver.tenants in the catalog: run the pipeline, then "
                "`lakehouse crawl`"
            )
        rows = self._con.execute(
            f"select cast(id as varchar) from ({self._source_sql(tenants, None)}) where slug = ?",
            [slug],
        ).fetchall()
        if not rows:
            raise LakehouseError(
                f"no tenant with slug {slug!r} in silver.tenants; list them with "
                '`lakehouse athena "select slug, name from silver.tenants"`'
            )
        return str(rows[0][0])

    # -- checking -----------------------------------------------------------------------------

    def _check(self, tree: exp.Expr) -> tuple[CatalogTable, ...]:
        if not isinstance(tree, _QUERY_KINDS):
            kind = tree.key.upper()
            if isinstance(tree, exp.Command):
                kind = str(tree.this).upper()
            hint = (
                " (tables are registered by `lakehouse crawl`, not by DDL)"
                if isinstance(tree, exp.Create)
                else ""
            )
            raise AthenaQueryError(
                "NOT_SUPPORTED",
                f"{kind} statements are not allowed here; only queries (select, union, "
                f"values) run on the local engine{hint}",
            )
        ctes = _cte_names(tree)
        tables: dict[str, CatalogTable] = {}
        for node in tree.find_all(exp.Table):
            if not isinstance(node.this, exp.Identifier):
                raise AthenaQueryError(
                    "NOT_SUPPORTED",
                    f"table functions and file paths are not allowed in FROM "
                    f"({node.this.sql(READ_DIALECT)[:80]}); query catalog tables such as "
                    "silver.orders instead",
                )
            name = node.name.lower()
            database = node.db.lower()
            catalog_name = node.catalog.lower()
            if catalog_name and catalog_name != ATHENA_CATALOG:
                raise AthenaQueryError(
                    "CATALOG_NOT_FOUND",
                    f"catalog '{node.catalog}' does not exist; only {ATHENA_CATALOG} is available",
                )
            if not database:
                if name in ctes:
                    continue
                raise AthenaQueryError(
                    "TABLE_NOT_FOUND",
                    f"Table '{ATHENA_CATALOG}.default.{name}' does not exist; qualify tables "
                    "with their database: bronze, silver or gold",
                )
            if database not in DATABASES:
                raise AthenaQueryError(
                    "SCHEMA_NOT_FOUND",
                    f"Schema '{database}' does not exist; the databases are {', '.join(DATABASES)}",
                )
            table = self.catalog.get(database, name)
            if table is None:
                raise AthenaQueryError(
                    "TABLE_NOT_FOUND",
                    f"{database}.{name} (not in the local catalog; known in {database}: "
                    f"{', '.join(t.name for t in self.catalog.in_database(database)) or 'none'}"
                    "; run `lakehouse crawl` after the pipeline)",
                )
            tables[table.qualified_name] = table
        for func in tree.find_all(exp.Func):
            fname = _function_name(func)
            if fname in _DENIED_FUNCTIONS or fname.startswith(_DENIED_FUNCTION_PREFIXES):
                raise AthenaQueryError(
                    "FUNCTION_NOT_FOUND",
                    f"function {fname} is not registered (Athena has no functions that read "
                    "files, settings or the catalog; query catalog tables instead)",
                )
        return tuple(tables.values())

    def _transpile(self, tree: exp.Expr) -> str:
        tree = tree.copy()
        for node in tree.find_all(exp.Table):
            if node.args.get("catalog") is not None:
                node.set("catalog", None)
        if isinstance(tree, exp.Select):
            # Athena names unnamed result columns _col0, _col1, ... by position.
            for i, projection in enumerate(list(tree.expressions)):
                if not isinstance(projection, exp.Alias | exp.Column | exp.Star):
                    projection.replace(exp.alias_(projection.copy(), f"_col{i}"))
        try:
            return tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
        except UnsupportedError as exc:
            raise AthenaQueryError(
                "NOT_SUPPORTED", f"no DuckDB equivalent for part of the query: {exc}"
            ) from exc

    # -- resolving ----------------------------------------------------------------------------

    def _tenant_folder(self, table: CatalogTable) -> Path:
        return Path(table.location) / f"tenant_id={self.tenant_id}"

    def _source_sql(self, table: CatalogTable, tenant_id: str | None) -> str:
        """A DuckDB ``select`` over the table's files, with catalog column names and types."""
        location = Path(table.location)
        if table.format == "csv":
            files = sorted(str(p) for p in location.glob("*.csv.gz") if p.name[0] not in "._")
            if not files:
                return self._empty_sql(table)
            file_list = "[" + ", ".join(_lit(f) for f in files) + "]"
            # The contract: RFC 4180, NULL = empty unquoted field, "" = empty string. DuckDB
            # turns quoted empties into NULL unless allow_quoted_nulls is off.
            source = (
                f"read_csv({file_list}, header = true, all_varchar = true, delim = ',', "
                "quote = '\"', escape = '\"', nullstr = '', allow_quoted_nulls = false, "
                "compression = 'gzip', union_by_name = true, auto_detect = false, "
                "columns = {"
                + ", ".join(f"{_lit(c.name)}: 'VARCHAR'" for c in table.columns)
                + "})"
            )
            where = ""
            if tenant_id is not None:
                if table.tenant_column is None:
                    raise AthenaQueryError(
                        "ACCESS_DENIED",
                        f"{table.qualified_name} has no tenant column, so it cannot be scoped "
                        "to a tenant",
                    )
                where = f" where {_ident(table.tenant_column)} = {_lit(tenant_id)}"
            cols = ", ".join(_ident(c.name) for c in table.columns)
            return f"select {cols} from {source}{where}"
        # Parquet: a glob over the table (or the tenant's one partition folder).
        if tenant_id is not None and table.partition_keys:
            folder = self._tenant_folder(table)
            if not any(folder.glob("*.parquet")):
                return self._empty_sql(table)
            pattern = str(folder / "*.parquet")
        elif tenant_id is not None:
            raise AthenaQueryError(
                "ACCESS_DENIED",
                f"{table.qualified_name} is not partitioned by tenant_id, so it cannot be "
                "scoped to a tenant",
            )
        else:
            if not any(location.rglob("*.parquet")):
                return self._empty_sql(table)
            pattern = str(location / "**" / "*.parquet")
        hive = ""
        if table.partition_keys:
            types = ", ".join(f"{_lit(k.name)}: 'VARCHAR'" for k in table.partition_keys)
            hive = f", hive_partitioning = true, hive_types = {{{types}}}"
        # union_by_name reads every file's footer; only needed when the crawler saw drift.
        by_name = "false" if table.serde.get("uniform_schema") == "true" else "true"
        source = f"read_parquet({_lit(pattern)}, union_by_name = {by_name}{hive})"
        select_list: list[str] = []
        for c in table.all_columns:
            # Spark writes UTC-adjusted timestamps, which DuckDB reads as timestamptz;
            # Athena shows them as plain timestamps in UTC.
            if c.type == "timestamp":
                select_list.append(f"cast({_ident(c.name)} as timestamp) as {_ident(c.name)}")
            else:
                select_list.append(_ident(c.name))
        return f"select {', '.join(select_list)} from {source}"

    def _empty_sql(self, table: CatalogTable) -> str:
        cols = ", ".join(
            f"cast(null as {_athena_type_to_duckdb(c.type)}) as {_ident(c.name)}"
            for c in table.all_columns
        )
        return f"select {cols} where false"

    def _register(self, tables: Sequence[CatalogTable]) -> None:
        for table in tables:
            if table.qualified_name in self._registered:
                continue
            if self._locked and self.tenant_id is not None:
                raise AthenaQueryError(
                    "ACCESS_DENIED",
                    f"{table.qualified_name} was not part of the tenant session's tables; "
                    "run it in a new session",
                )
            target = f"{table.database}.{_ident(table.name)}"
            body = self._source_sql(table, self.tenant_id)
            if self.tenant_id is not None and table.format == "csv":
                # Bronze files hold every tenant: copy this tenant's rows before lock-down.
                self._con.execute(f"create table {target} as {body}")
            else:
                self._con.execute(f"create view {target} as {body}")
            self._registered.add(table.qualified_name)

    def _lock_down(self, tables: Sequence[CatalogTable]) -> None:
        """Confine DuckDB to the files the session may read, for good.

        With a tenant: that tenant's partition folders of the tables the statements use (bronze
        rows were copied already). Without: the bronze, silver and gold roots, so views can
        still be created later but nothing outside the lake is reachable.
        """
        if self.tenant_id is not None:
            folders = sorted(
                f"{self._tenant_folder(t)}/"
                for t in tables
                if t.format == "parquet" and t.partition_keys
            )
        else:
            folders = [
                f"{local_dir(uri, 'a lake location')}/"
                for uri in (
                    self.settings.bronze_uri,
                    self.settings.silver_uri,
                    self.settings.gold_uri,
                )
            ]
        allowed = "[" + ", ".join(_lit(f) for f in folders) + "]"
        self._con.execute(f"set allowed_directories = {allowed}")
        self._con.execute("set enable_external_access = false")
        self._con.execute("set lock_configuration = true")
        self._locked = True

    # -- running ------------------------------------------------------------------------------

    def prepare(self, text: str) -> list[_Statement]:
        """Parse and check every statement of ``text`` (nothing runs)."""
        out = []
        for tree in split_statements(text):
            tables = self._check(tree)
            out.append(_Statement(tree=tree, text=tree.sql(READ_DIALECT), tables=tables))
        return out

    def execute(self, text: str) -> list[QueryResult]:
        """Run every statement of ``text`` in order; all are checked before the first runs."""
        statements = self.prepare(text)
        needed: dict[str, CatalogTable] = {}
        for st in statements:
            for t in st.tables:
                needed[t.qualified_name] = t
        if self.tenant_id is None and not self._locked:
            self._lock_down([])
        self._register(list(needed.values()))
        if self.tenant_id is not None and not self._locked:
            self._lock_down(list(needed.values()))
        return [self._run(st) for st in statements]

    def _run(self, statement: _Statement) -> QueryResult:
        duck_sql = self._transpile(statement.tree)
        query_id = str(uuid.uuid4())
        started = time.perf_counter()
        try:
            cursor = self._con.execute(duck_sql)
            rows = cursor.fetchall()
        except duckdb.Error as exc:
            error = _athena_error(exc)
            self._write_metadata(query_id, statement.text, duck_sql, "FAILED", str(error), 0, 0.0)
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
        results_dir = local_dir(self.settings.athena_results_uri, "the Athena results location")
        results_dir.mkdir(parents=True, exist_ok=True)
        result_path = results_dir / f"{query_id}.csv"
        write_csv(result_path, columns, rows)
        meta = self._write_metadata(
            query_id, statement.text, duck_sql, "SUCCEEDED", None, len(rows), elapsed, columns
        )
        return replace(result, result_path=result_path, metadata_path=meta)

    def _write_metadata(
        self,
        query_id: str,
        query: str,
        duck_sql: str,
        state: str,
        reason: str | None,
        rows: int,
        elapsed_ms: float,
        columns: Sequence[str] = (),
    ) -> Path | None:
        if not self.save_results:
            return None
        results_dir = local_dir(self.settings.athena_results_uri, "the Athena results location")
        results_dir.mkdir(parents=True, exist_ok=True)
        path = results_dir / f"{query_id}.metadata.json"
        doc = {
            "QueryExecutionId": query_id,
            "Query": query,
            "EngineQuery": duck_sql,
            "Status": {
                "State": state,
                "StateChangeReason": reason,
                "CompletionDateTime": datetime.now(UTC).isoformat(timespec="milliseconds"),
            },
            "Statistics": {"EngineExecutionTimeInMillis": round(elapsed_ms, 2), "Rows": rows},
            "ResultConfiguration": {"OutputLocation": str(results_dir / f"{query_id}.csv")},
            "Columns": list(columns),
            "Tenant": {"slug": self.tenant_slug, "tenant_id": self.tenant_id},
        }
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        return path


@dataclass
class _ErrorRule:
    exc_type: type[duckdb.Error]
    pattern: re.Pattern[str]
    code: str
    template: str = field(default="{message}")


_ERROR_RULES = [
    _ErrorRule(
        duckdb.BinderException,
        re.compile(r'Referenced column "?([^"\s]+)"? not found'),
        "COLUMN_NOT_FOUND",
        "Column '{0}' cannot be resolved",
    ),
    _ErrorRule(
        duckdb.BinderException,
        re.compile(r'does not have a column named "([^"]+)"'),
        "COLUMN_NOT_FOUND",
        "Column '{0}' cannot be resolved",
    ),
    _ErrorRule(
        duckdb.BinderException,
        re.compile(r"Values list \"?\w+\"? does not have a column named \"([^\"]+)\""),
        "COLUMN_NOT_FOUND",
        "Column '{0}' cannot be resolved",
    ),
    _ErrorRule(
        duckdb.CatalogException,
        re.compile(r"(?:Scalar|Aggregate|Table|Table Macro|Macro) Function with name \"?(\w+)"),
        "FUNCTION_NOT_FOUND",
        "Function '{0}' not registered (no DuckDB equivalent for this Athena function)",
    ),
    _ErrorRule(
        duckdb.BinderException,
        re.compile(r"No function matches the given name and argument types '([^']+)'"),
        "FUNCTION_NOT_FOUND",
        "Unexpected parameters for function {0}",
    ),
    _ErrorRule(
        duckdb.CatalogException,
        re.compile(r"Table with name (\S+) does not exist"),
        "TABLE_NOT_FOUND",
        "Table '{0}' does not exist",
    ),
]


def _athena_error(exc: duckdb.Error) -> AthenaQueryError:
    """The Athena error name for a DuckDB error, with the original message kept."""
    message = str(exc).splitlines()[0]
    for rule in _ERROR_RULES:
        if isinstance(exc, rule.exc_type):
            m = rule.pattern.search(str(exc))
            if m:
                return AthenaQueryError(rule.code, rule.template.format(*m.groups()))
    if isinstance(exc, duckdb.PermissionException):
        return AthenaQueryError("ACCESS_DENIED", message)
    if isinstance(exc, duckdb.ConversionException):
        return AthenaQueryError("INVALID_CAST_ARGUMENT", message)
    if isinstance(exc, duckdb.OutOfRangeException):
        return AthenaQueryError("NUMERIC_VALUE_OUT_OF_RANGE", message)
    if isinstance(exc, duckdb.ParserException):
        return AthenaQueryError("SYNTAX_ERROR", message)
    if isinstance(exc, duckdb.BinderException | duckdb.CatalogException):
        return AthenaQueryError("SEMANTIC_ERROR", message)
    if isinstance(exc, duckdb.InvalidInputException):
        return AthenaQueryError("INVALID_FUNCTION_ARGUMENT", message)
    return AthenaQueryError("GENERIC_INTERNAL_ERROR", message)


def text_value(value: Any) -> str | None:
    """A result value as Athena prints it in its CSV output (None for NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="milliseconds").replace("+00:00", "")
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    return str(value)


def _csv_field(value: str | None) -> str:
    return "" if value is None else '"' + value.replace('"', '""') + '"'


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Athena's result CSV: header, every value double-quoted, NULL as an empty unquoted field.

    Written by hand because the csv module cannot quote every value yet leave NULL unquoted.
    """
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(_csv_field(c) for c in columns) + "\n")
        for row in rows:
            fh.write(",".join(_csv_field(text_value(v)) for v in row) + "\n")

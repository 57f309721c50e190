"""The first wall: parse Athena SQL and refuse everything that is not a plain catalog query.

A statement passes only if it is a query (``select``, a set operation, ``values``), every table
it names is a catalog table (``[awsdatacatalog.]bronze|silver|gold.<table>``) or a CTE, and no
function it calls reaches files, settings or DuckDB's catalog. Athena has none of those, so
they are refused always, with or without a tenant.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from lakehouse.athena.errors import AthenaQueryError
from lakehouse.catalog.store import DATABASES, Catalog, CatalogTable

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


def function_name(node: exp.Func) -> str:
    """The lower-case name a function call is written with."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def _cte_names(tree: exp.Expr) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def check(tree: exp.Expr, catalog: Catalog) -> tuple[CatalogTable, ...]:
    """Refuse anything but a catalog query; return the catalog tables ``tree`` reads.

    Raises:
        AthenaQueryError: ``NOT_SUPPORTED``, ``CATALOG_NOT_FOUND``, ``SCHEMA_NOT_FOUND``,
            ``TABLE_NOT_FOUND`` or ``FUNCTION_NOT_FOUND``, as Athena would name the problem.
    """
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
        table = catalog.get(database, name)
        if table is None:
            raise AthenaQueryError(
                "TABLE_NOT_FOUND",
                f"{database}.{name} (not in the local catalog; known in {database}: "
                f"{', '.join(t.name for t in catalog.in_database(database)) or 'none'}"
                "; run `lakehouse crawl` after the pipeline)",
            )
        tables[table.qualified_name] = table
    for func in tree.find_all(exp.Func):
        fname = function_name(func)
        if fname in _DENIED_FUNCTIONS or fname.startswith(_DENIED_FUNCTION_PREFIXES):
            raise AthenaQueryError(
                "FUNCTION_NOT_FOUND",
                f"function {fname} is not registered (Athena has no functions that read "
                "files, settings or the catalog; query catalog tables instead)",
            )
    return tuple(tables.values())

"""The first wall: parse Athena SQL and refuse everything that is not a plain catalog query.

A statement passes only if:

- its text is at most ``max_bytes`` of UTF-8 and its tree at most ``max_depth`` deep;
- it is a query (``select``, a set operation, ``values``);
- every table it names is either a catalog table (``[awsdatacatalog.]bronze|silver|gold.<table>``)
  or a CTE *visible at that point* (sqlglot's scope analysis: a CTE defined inside a subquery is
  not visible outside it, nor a later CTE in an earlier one). Anything else is
  ``TABLE_NOT_FOUND``, so DuckDB's own catalog views, its file-by-name lookup and Python
  objects are never named;
- every function it calls is on the allow-list of :mod:`lakehouse.athena.functions`, by the
  name Athena gives it. Anything else is ``FUNCTION_NOT_FOUND``.

These rules hold with or without a tenant.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, TokenError
from sqlglot.optimizer.scope import Scope, traverse_scope

from lakehouse.athena import functions
from lakehouse.athena.errors import AthenaQueryError
from lakehouse.athena.trino.translator import trino_function_name
from lakehouse.catalog.store import DATABASES, Catalog, CatalogTable

READ_DIALECT = "athena"
ATHENA_CATALOG = "awsdatacatalog"

_QUERY_KINDS: tuple[type[exp.Expr], ...] = (exp.Select, exp.SetOperation, exp.Values)


MAX_SQL_BYTES = 262_144
"""Athena's own limit on a query string (262144 bytes)."""
MAX_DEPTH = 200


def split_statements(text: str, max_bytes: int = MAX_SQL_BYTES) -> list[exp.Expr]:
    """Parse ``text`` (one or more ``;``-separated statements) as Athena SQL.

    Raises:
        AthenaQueryError: ``SYNTAX_ERROR`` for a parse error, text over ``max_bytes`` UTF-8
            bytes, or nesting too deep for the parser.
    """
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > max_bytes:
        raise AthenaQueryError(
            "SYNTAX_ERROR",
            f"the query text is {size} bytes; the limit is {max_bytes} "
            "(LAKEHOUSE_ATHENA_MAX_SQL_BYTES; Athena's own limit is 262144)",
        )
    try:
        trees = sqlglot.parse(text, read=READ_DIALECT)
    except RecursionError as exc:
        raise AthenaQueryError("SYNTAX_ERROR", "the query is nested too deeply") from exc
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


def _depth(tree: exp.Expr) -> int:
    """The depth of the tree, found without recursion."""
    deepest = 0
    stack: list[tuple[exp.Expr, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.iter_expressions())
    return deepest


def _visible_cte_references(tree: exp.Expr) -> set[int]:
    """``id()`` of every table node that names a CTE visible where it stands."""
    refs: set[int] = set()
    try:
        scopes = traverse_scope(tree)
    except OptimizeError as exc:
        raise AthenaQueryError("SEMANTIC_ERROR", str(exc)) from exc
    for scope in scopes:
        for table in scope.tables:
            source = scope.sources.get(table.alias_or_name)
            if isinstance(source, Scope) and source.is_cte and not table.db:
                refs.add(id(table))
    return refs


def check(tree: exp.Expr, catalog: Catalog, max_depth: int = MAX_DEPTH) -> tuple[CatalogTable, ...]:
    """Refuse anything but a catalog query; return the catalog tables ``tree`` reads.

    Raises:
        AthenaQueryError: ``NOT_SUPPORTED``, ``CATALOG_NOT_FOUND``, ``SCHEMA_NOT_FOUND``,
            ``TABLE_NOT_FOUND`` or ``FUNCTION_NOT_FOUND``, as Athena would name the problem;
            ``SYNTAX_ERROR`` for a tree deeper than ``max_depth``.
    """
    _check_kind(tree)
    depth = _depth(tree)
    if depth > max_depth:
        raise AthenaQueryError(
            "SYNTAX_ERROR",
            f"the query is nested {depth} levels deep; the limit is {max_depth} "
            "(LAKEHOUSE_ATHENA_MAX_NESTING)",
        )
    cte_refs = _visible_cte_references(tree)
    tables: dict[str, CatalogTable] = {}
    for node in tree.find_all(exp.Table):
        table = _catalog_table(node, catalog, cte_refs)
        if table is not None:
            tables[table.qualified_name] = table
    _check_functions(tree)
    return tuple(tables.values())


def _check_kind(tree: exp.Expr) -> None:
    """Refuse a statement that is not a query."""
    if isinstance(tree, _QUERY_KINDS):
        return
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


def _catalog_table(node: exp.Table, catalog: Catalog, cte_refs: set[int]) -> CatalogTable | None:
    """The catalog table ``node`` names, None for a visible CTE; refuse anything else."""
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
    if id(node) in cte_refs:
        return None
    if not database:
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
    return table


def _check_functions(tree: exp.Expr) -> None:
    """Refuse a call of a function that is not on the allow-list."""
    for func in tree.find_all(exp.Func):
        called = trino_function_name(func)
        if called is None:
            continue  # an operator (and, or, ...) that sqlglot models as a function
        if not functions.is_supported(called):
            raise AthenaQueryError(
                "FUNCTION_NOT_FOUND",
                f"Function '{called}' not registered: the local engine runs the Athena engine "
                "v3 functions listed in lakehouse/athena/functions.py (none that read files, "
                "settings or the catalog, or run SQL text)",
            )

"""Athena (Trino) SQL to DuckDB SQL that gives Athena's answer.

The seam between the checked Athena tree and DuckDB: :func:`to_duckdb` takes a tree that
:func:`lakehouse.athena.guard.check` accepted and returns the DuckDB SQL to run, with Trino's
semantics (:mod:`lakehouse.athena.trino`: typed with the catalog's schema, integer and decimal
arithmetic, dates, functions from the allow-list of :mod:`lakehouse.athena.functions`).
:func:`install` puts the macros and UDFs that SQL calls on the session's connection. A
construct the local engine cannot reproduce exactly is refused (``NOT_SUPPORTED`` or
``FUNCTION_NOT_FOUND`` naming it), never translated to a silently different query.
"""

from __future__ import annotations

import duckdb
from sqlglot import exp
from sqlglot.schema import MappingSchema

from lakehouse.athena import trino
from lakehouse.athena.errors import AthenaQueryError
from lakehouse.catalog.store import Catalog


def schema_of(catalog: Catalog) -> MappingSchema:
    """The column types the translation types a statement with."""
    return trino.schema_of(catalog)


def install(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the macros and UDFs the translated SQL calls (pure functions, no file access)."""
    trino.install(connection)


def needs_functions(duck_sql: str) -> bool:
    """Whether translated SQL may call the macros or UDFs of :func:`install`.

    Every one of them is named ``athena_*``; SQL that never spells that calls none of them, and
    its session skips registering them (DuckDB's Python UDFs load numpy).
    """
    return "athena_" in duck_sql.lower()


def to_duckdb(tree: exp.Expr, schema: MappingSchema | None = None, copy: bool = True) -> str:
    """The DuckDB SQL of a checked Athena statement (catalog names stripped).

    ``copy=False`` lets the translation rewrite ``tree`` itself (it must not be used after).
    """
    try:
        return trino.translate(tree, schema, copy=copy)
    except trino.TranslationRefusedError as exc:
        raise AthenaQueryError(exc.code, str(exc).split(": ", 1)[1]) from exc

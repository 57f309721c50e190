"""Athena (Trino) SQL to DuckDB SQL that gives Athena's answer.

The seam between the checked Athena tree and DuckDB: :func:`to_duckdb` takes a tree that
:func:`lakehouse.athena.guard.check` accepted and returns the DuckDB SQL to run, with Trino's
semantics (:mod:`lakehouse.athena.trino`: typed with the catalog's schema, integer and decimal
arithmetic, dates, functions from the allow-list of :mod:`lakehouse.athena.functions`).
:func:`install` puts the macros and UDFs that SQL calls on the session's connection. A
construct the local engine cannot reproduce exactly is refused (``NOT_SUPPORTED`` or
``FUNCTION_NOT_FOUND`` naming it), never translated to a silently different query.

sqlglot is imported when a statement is translated, not with this module: a statement kept
translated (:mod:`lakehouse.athena.prepared`) runs without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakehouse.athena.errors import AthenaQueryError
from lakehouse.catalog.store import Catalog

if TYPE_CHECKING:
    import duckdb
    from sqlglot import exp
    from sqlglot.schema import MappingSchema


def schema_of(catalog: Catalog) -> MappingSchema:
    """The column types the translation types a statement with."""
    from lakehouse.athena.trino.schema import schema_of as build

    return build(catalog)


def install(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the macros and UDFs the translated SQL calls (pure functions, no file access)."""
    from lakehouse.athena.trino.macros import install as create

    create(connection)


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
    from lakehouse.athena.trino.translator import TranslationRefusedError, translate

    try:
        return translate(tree, schema, copy=copy)
    except TranslationRefusedError as exc:
        raise AthenaQueryError(exc.code, str(exc).split(": ", 1)[1]) from exc

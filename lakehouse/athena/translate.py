"""Athena (Trino) SQL to DuckDB SQL.

The seam between the checked Athena tree and DuckDB: :func:`to_duckdb` takes a tree that
:func:`lakehouse.athena.guard.check` accepted and returns the DuckDB SQL to run. It relies on
sqlglot's dialect transpiler, plus what Athena does and sqlglot does not (``_colN`` names).
A construct with no DuckDB equivalent is ``NOT_SUPPORTED``, never a silently different query.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from lakehouse.athena.errors import AthenaQueryError


def to_duckdb(tree: exp.Expr) -> str:
    """The DuckDB SQL of a checked Athena statement (catalog names stripped)."""
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

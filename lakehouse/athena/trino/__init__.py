"""Trino (Athena engine v3) semantics on DuckDB: translation, functions and result output.

The seam the engine uses is small: :func:`translate` turns a checked Athena tree into DuckDB SQL
(or raises :class:`TranslationRefusedError` naming the function or construct), :func:`install`
puts the macros and UDFs the translation calls on a DuckDB connection, :func:`schema_of` builds
the schema the translation types columns with, and :func:`render` prints a value as Athena's
result CSV does.

Each name is imported from its module when first used: printing a result (:func:`render`) or
installing the macros needs neither sqlglot nor the function table, whose imports cost more
than a small query.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakehouse.athena.trino.macros import install
    from lakehouse.athena.trino.output import render
    from lakehouse.athena.trino.schema import schema_of
    from lakehouse.athena.trino.translator import TranslationRefusedError, translate

__all__ = ["TranslationRefusedError", "install", "render", "schema_of", "translate"]

_HOMES = {
    "TranslationRefusedError": "translator",
    "install": "macros",
    "render": "output",
    "schema_of": "schema",
    "translate": "translator",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)

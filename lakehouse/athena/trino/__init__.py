"""Trino (Athena engine v3) semantics on DuckDB: translation, functions and result output.

The seam the engine uses is small: :func:`translate` turns a checked Athena tree into DuckDB SQL
(or raises :class:`TranslationRefusedError` naming the function or construct), :func:`install`
puts the macros and UDFs the translation calls on a DuckDB connection, :func:`schema_of` builds
the schema the translation types columns with, and :func:`render` prints a value as Athena's
result CSV does.
"""

from lakehouse.athena.trino.macros import install
from lakehouse.athena.trino.output import render
from lakehouse.athena.trino.schema import schema_of
from lakehouse.athena.trino.translator import TranslationRefusedError, translate

__all__ = ["TranslationRefusedError", "install", "render", "schema_of", "translate"]

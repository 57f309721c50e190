"""Athena's error names, and DuckDB's errors reported in Athena's terms.

Every failure of a statement reaches the user as :class:`AthenaQueryError`, whose message starts
with the error name Athena (Trino) would give (``TABLE_NOT_FOUND: ...``), so that a script that
reads Athena's ``StateChangeReason`` reads the local engine's the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb

from lakehouse.errors import LakehouseError


class AthenaQueryError(LakehouseError):
    """A query failed; ``code`` is Athena's error name (``TABLE_NOT_FOUND``, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


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


def athena_error(exc: duckdb.Error) -> AthenaQueryError:
    """The Athena error name for a DuckDB error, with the original message kept."""
    message = str(exc).splitlines()[0]
    for rule in _ERROR_RULES:
        if isinstance(exc, rule.exc_type):
            m = rule.pattern.search(str(exc))
            if m:
                return AthenaQueryError(rule.code, rule.template.format(*m.groups()))
    if isinstance(exc, duckdb.OutOfMemoryException):
        return AthenaQueryError(
            "EXCEEDED_LOCAL_MEMORY_LIMIT",
            f"{message}; make the query cheaper or raise LAKEHOUSE_ATHENA_MEMORY_LIMIT",
        )
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

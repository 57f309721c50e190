"""Small, composable cleaning rules the per-entity scripts pick from.

Each rule is a function ``DataFrame -> DataFrame`` over the typed declared columns. A script
states its entity's rules with :func:`chain`, e.g.
``chain(lower_trim("email"), upper_trim("country"))``.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

Cleaner = Callable[[DataFrame], DataFrame]


def _each(columns: tuple[str, ...], fn: Callable[[str], Column]) -> Cleaner:
    def apply(df: DataFrame) -> DataFrame:
        return df.withColumns({c: fn(c) for c in columns})

    return apply


def trim(*columns: str) -> Cleaner:
    """Strip leading and trailing white space (NULL stays NULL, '' stays '')."""
    return _each(columns, lambda c: F.trim(F.col(c)))


def lower_trim(*columns: str) -> Cleaner:
    """Trim and lower-case, e.g. e-mail addresses and status codes."""
    return _each(columns, lambda c: F.lower(F.trim(F.col(c))))


def upper_trim(*columns: str) -> Cleaner:
    """Trim and upper-case, e.g. ISO country and currency codes."""
    return _each(columns, lambda c: F.upper(F.trim(F.col(c))))


def chain(*rules: Cleaner) -> Cleaner:
    """Apply the rules left to right."""

    def apply(df: DataFrame) -> DataFrame:
        for rule in rules:
            df = rule(df)
        return df

    return apply

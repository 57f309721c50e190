"""Compare a gold mart (Spark rows) with the same question answered in PostgreSQL (the oracle);
shared by the gold job tests and the pipeline tests."""

from __future__ import annotations

from typing import Any

from lakehouse_glue.gold.marts import mart
from pyspark.sql import DataFrame

from tests.support.oracle import normalise


def assert_same_rows(actual: DataFrame, expected: list[tuple[Any, ...]], mart_name: str) -> None:
    """The mart equals the PostgreSQL answer row for row (order aside), exactly."""
    declared = mart(mart_name).column_names
    got = normalise(tuple(r) for r in actual.select(*declared).collect())
    want = normalise(expected)
    missing = want - got
    extra = got - want
    assert not missing, (
        f"{mart_name}: {sum(missing.values())} rows only in PostgreSQL, "
        f"{sum(extra.values())} only in Spark.\n"
        f"columns: {declared}\n"
        f"PostgreSQL only (first 3): {list(missing)[:3]}\nSpark only (first 3): {list(extra)[:3]}"
    )
    assert not extra, f"{mart_name}: Spark only (first 3): {list(extra)[:3]}"

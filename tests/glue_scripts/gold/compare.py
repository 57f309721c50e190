"""Compare a mart (Spark rows) with the same question answered in PostgreSQL (SQL beside us)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from lakehouse_glue.gold.marts import mart
from pyspark.sql import DataFrame

SQL_DIR = Path(__file__).resolve().parent / "sql"


def _normal(value: Any) -> Any:
    # PostgreSQL hands back aware datetimes, Spark naive local ones: compare instants in UTC.
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


def normalise(rows: Iterable[Sequence[Any]]) -> Counter[tuple[Any, ...]]:
    """Rows as a multiset; Decimal('1.50') == Decimal('1.5') and hash alike, ints too."""
    return Counter(tuple(_normal(v) for v in row) for row in rows)


def postgres_answer(dsn: str, mart_name: str) -> list[tuple[Any, ...]]:
    """Run ``sql/<mart>.sql`` and check it names exactly the declared columns, in order."""
    sql = (SQL_DIR / f"{mart_name}.sql").read_text(encoding="utf-8")
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql)
        assert cur.description is not None
        names = [d.name for d in cur.description]
        rows = cur.fetchall()
    assert names == mart(mart_name).column_names, f"{mart_name}.sql columns drift from gold.json"
    return rows


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

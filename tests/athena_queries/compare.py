"""Row comparison between the Athena stand-in and PostgreSQL."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

# Each gold mart answered directly in PostgreSQL, following glue-scripts/README.md "Definitions"
# (the gold tests own these files; the business queries read the marts, so their PostgreSQL
# answers are built on the same SQL and no metric is defined a second time here).
GOLD_SQL_DIR = Path(__file__).resolve().parents[1] / "glue_scripts" / "gold" / "sql"


def gold_answer(mart: str) -> str:
    """The PostgreSQL answer of a gold mart as a parenthesised subquery (columns of gold.json)."""
    text = (GOLD_SQL_DIR / f"{mart}.sql").read_text(encoding="utf-8").strip().rstrip(";")
    return f"(\n{text}\n)"


def pg_rows(dsn: str, query: str) -> list[tuple[Any, ...]]:
    """Rows of ``query`` on PostgreSQL, evaluated in UTC like Athena."""
    with psycopg.connect(dsn) as conn:
        conn.execute("set timezone = 'UTC'")
        return [tuple(r) for r in conn.execute(query).fetchall()]


def _norm(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def assert_same_rows(
    got: Sequence[Sequence[Any]], expected: Sequence[Sequence[Any]], float_tol: float = 0.01
) -> None:
    """Equal row for row and value for value; decimals exactly, floats within ``float_tol``.

    Floats only arise where a query divides (rates, averages); money and counts are exact.
    """
    assert len(got) == len(expected), f"{len(got)} rows, expected {len(expected)}"
    for i, (g_row, e_row) in enumerate(zip(got, expected, strict=True)):
        assert len(g_row) == len(e_row), f"row {i}: {len(g_row)} columns, expected {len(e_row)}"
        for j, (g, e) in enumerate(zip(g_row, e_row, strict=True)):
            g, e = _norm(g), _norm(e)
            if isinstance(g, float) or isinstance(e, float):
                assert g is not None, f"row {i} col {j}: NULL != {e!r}"
                assert e is not None, f"row {i} col {j}: {g!r} != NULL"
                assert math.isclose(float(g), float(e), abs_tol=float_tol), (
                    f"row {i} col {j}: {g!r} != {e!r}"
                )
            else:
                assert g == e, f"row {i} col {j}: {g!r} != {e!r}\n got {g_row}\n exp {e_row}"
                assert (
                    type(g) is type(e)
                    or {type(g), type(e)} <= {int, bool}
                    or (g is None and e is None)
                ), f"row {i} col {j}: type {type(g).__name__} != {type(e).__name__}"

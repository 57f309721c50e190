"""A result's rows as Python tuples, exactly as DuckDB's ``fetchall()`` gives them, faster.

DuckDB's ``fetchall()`` builds every value one by one; for ``DECIMAL`` and ``DATE`` columns
that costs several times the query itself once a result has thousands of rows (an all-tenant
dashboard at 10,000 tenants: one row per tenant, five ``DECIMAL`` columns). :func:`fetch_rows`
takes the first rows with ``fetchmany()`` (a small result is cheaper that way) and the rest as an
Arrow table, converted a column at a time:

- integers, ``BOOLEAN``, ``DOUBLE``, ``FLOAT`` and ``VARCHAR`` with Arrow's own conversion
  (the same Python ``int``, ``bool``, ``float`` and ``str``);
- ``DECIMAL(p,s)`` through its text (Arrow prints the fixed scale, ``Decimal`` keeps it), the
  same ``Decimal`` as DuckDB's, trailing zeros included;
- ``DATE`` from its day number (``date.fromordinal``), with DuckDB's ``infinity`` dates as
  ``date.max``/``date.min`` like ``fetchall()``; a date outside Python's range (DuckDB gives its
  text) is converted by DuckDB itself.

A result with a column of any other type (timestamps, intervals, lists, structs, ``HUGEINT``,
``UUID``, ``BLOB``...) is fetched with ``fetchall()``: only the types above are converted here,
and the tests compare both ways value by value and type by type.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    import pyarrow as pa

_AS_ARROW = frozenset(
    {
        "BOOLEAN",
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "FLOAT",
        "DOUBLE",
        "VARCHAR",
    }
)
# DuckDB warns that Arrow output of an executed statement copies its rows; that copy is the
# point here (it costs a fraction of what building the values one by one in fetchall() costs).
warnings.filterwarnings(
    "ignore",
    message="Arrow output on a DB-API result makes an extra copy",
    category=UserWarning,
    module=re.escape(__name__),
)
_FIRST_ROWS = 256
_DECIMAL = re.compile(r"DECIMAL\(\d+,\d+\)")
# Day 0 of a DATE (1970-01-01) as a proleptic Gregorian ordinal, and the range of dt.date.
_EPOCH = dt.date(1970, 1, 1).toordinal()
_FIRST_DAY = dt.date.min.toordinal() - _EPOCH
_LAST_DAY = dt.date.max.toordinal() - _EPOCH
# DuckDB's DATE 'infinity' and '-infinity', as Arrow day numbers.
_INFINITY = 2**31 - 1
_MINUS_INFINITY = -(2**31) + 1


def fetch_rows(cursor: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """Every row of ``cursor``'s pending result (what ``cursor.fetchall()`` would return)."""
    description = cursor.description
    if not description or not all(_converted(str(d[1])) for d in description):
        return cursor.fetchall()
    # A small result costs less one row at a time than through Arrow.
    first = cursor.fetchmany(_FIRST_ROWS)
    if len(first) < _FIRST_ROWS:
        return first
    # pyarrow is loaded from here on only: a small result (most queries) never loads it, and
    # ``lakehouse athena`` starts faster without it.
    reader = cursor.to_arrow_reader()  # the rows after the first ones
    if reader is None:
        return first
    table: pa.Table = reader.read_all()
    if table.num_rows == 0:
        return first
    columns = [_column(str(d[1]), table.column(i)) for i, d in enumerate(description)]
    first.extend(zip(*columns, strict=True))
    return first


def _converted(type_name: str) -> bool:
    return type_name in _AS_ARROW or type_name == "DATE" or bool(_DECIMAL.fullmatch(type_name))


def _column(type_name: str, column: pa.ChunkedArray) -> list[Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if type_name == "DATE":
        return _dates(column)
    if type_name.startswith("DECIMAL"):
        text: list[str | None] = pc.cast(column, pa.string()).to_pylist()
        if column.null_count == 0:
            return list(map(Decimal, text))  # type: ignore[arg-type]  # no None in it
        return [None if s is None else Decimal(s) for s in text]
    values: list[Any] = column.to_pylist()
    return values


def _dates(column: pa.ChunkedArray) -> list[Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    numbers = pc.cast(column, pa.int32())
    days: list[int | None] = numbers.to_pylist()
    lowest, highest = (v.as_py() for v in pc.min_max(numbers).values())
    if lowest is None:
        return days  # every value is null
    if lowest >= _FIRST_DAY and highest <= _LAST_DAY:
        ordinal: Callable[[int], dt.date] = dt.date.fromordinal
        return [None if d is None else ordinal(d + _EPOCH) for d in days]
    out: list[Any] = []
    for d in days:
        if d is None or _FIRST_DAY <= d <= _LAST_DAY:
            out.append(None if d is None else dt.date.fromordinal(d + _EPOCH))
        elif d == _INFINITY:
            out.append(dt.date.max)
        elif d == _MINUS_INFINITY:
            out.append(dt.date.min)
        else:
            out.append(_duckdb_date(d))
    return out


def _duckdb_date(days: int) -> Any:
    """DuckDB's own Python value of a DATE outside Python's range (its text)."""
    con = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        row = con.execute("select date '1970-01-01' + cast(? as integer)", [days]).fetchone()
    finally:
        con.close()
    return None if row is None else row[0]

"""fetch_rows gives exactly what DuckDB's fetchall() gives: the same values of the same types."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from lakehouse.athena.fetch import fetch_rows

# Every type fetch_rows converts itself, with nulls, extremes, negative and zero decimals,
# trailing zeros, DuckDB's infinite dates and dates outside Python's range.
_CONVERTED = """
select * from (values
    (true, (-128)::tinyint, (-32768)::smallint, (-2147483648)::integer,
     (-9223372036854775808)::bigint,
     255::utinyint, 65535::usmallint, 4294967295::uinteger, 18446744073709551615::ubigint,
     1.5::float, 'nan'::double, 'tenant ☃ "x"', 0.00::decimal(18,2), (-0.50)::decimal(18,2),
     12345678901234567.89::decimal(19,2), (-99999999999999999999999999999999999999)::decimal(38,0),
     1.10::decimal(4,2), date '0001-01-01', date 'infinity'),
    (false, 127::tinyint, 32767::smallint, 2147483647::integer, 9223372036854775807::bigint,
     0::utinyint, 0::usmallint, 0::uinteger, 0::ubigint,
     (-0.0)::float, '-inf'::double, '', 3640.00::decimal(18,2), 362786.19::decimal(18,2),
     (-1.00)::decimal(19,2), 7::decimal(38,0), 0.01::decimal(4,2), date '9999-12-31',
     date '-infinity'),
    (null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
     null, null, date '1970-01-01', null),
    (null, null, null, null, null, null, null, null, null, null, 2.25::double, null,
     1::decimal(18,2), null, null, null, null, date '20000-01-01', date '1969-12-31')
) as t(b, ti, si, i, bi, ut, us, ui, ub, f, d, v, d0, d1, d2, d3, d4, day1, day2)
"""


def _both(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[Any], list[Any]]:
    expected = con.execute(sql).fetchall()
    got = fetch_rows(con.execute(sql))
    return expected, got


def _same(expected: list[Any], got: list[Any]) -> None:
    assert len(got) == len(expected)
    for want_row, got_row in zip(expected, got, strict=True):
        assert type(got_row) is tuple
        # repr compares value and type at once (Decimal('1.10') is not Decimal('1.1'), nan is
        # not equal to itself, True is not 1).
        assert [repr(v) for v in got_row] == [repr(v) for v in want_row]
        assert [type(v) for v in got_row] == [type(v) for v in want_row]


def test_every_converted_type_is_fetched_as_fetchall_does() -> None:
    con = duckdb.connect()
    expected, got = _both(con, _CONVERTED)
    _same(expected, got)
    # The cases that matter, spelled out: a decimal keeps its scale, infinity dates clamp, a
    # date outside Python's range is DuckDB's text.
    assert got[1][12] == Decimal("3640.00")
    assert str(got[1][12]) == "3640.00"
    assert str(got[0][13]) == "-0.50"
    assert got[0][18] == dt.date.max
    assert got[1][18] == dt.date.min
    assert got[3][17] == "20000-01-01"


def test_many_rows_and_nulls_in_every_chunk() -> None:
    con = duckdb.connect()
    sql = (
        "select i, case when i % 7 = 0 then null else (i * 1.37 - 5000)::decimal(18,2) end as m,"
        " (i * 0.5)::decimal(18,2) as n, date '2024-01-01' + (i % 400)::integer as day,"
        " 'slug-' || i as slug from range(20000) as r(i) order by i desc"
    )
    expected, got = _both(con, sql)
    _same(expected, got)
    assert got[0][0] == 19999
    assert got[0][2] == Decimal("9999.50")


@pytest.mark.parametrize(
    "sql",
    [
        "select timestamp '2024-01-01 10:00:00' as t, 1.50::decimal(4,2) as m",
        "select timestamptz '2024-01-01 10:00:00+02' as t",
        "select 170141183460469231731687303715884105727::hugeint as h",
        "select [1, 2] as l, {'a': 1} as s",
        "select interval 3 day as i, 'x'::blob as b",
        "select uuid '3b2d8c0e-6a4e-4a4e-9a4e-3b2d8c0e6a4e' as u, time '10:00:00' as t",
    ],
)
def test_other_types_are_fetched_by_fetchall(sql: str) -> None:
    con = duckdb.connect()
    expected, got = _both(con, sql)
    _same(expected, got)


def test_empty_and_statement_results() -> None:
    con = duckdb.connect()
    assert fetch_rows(con.execute("select 1.5::decimal(4,2) as m where false")) == []
    assert fetch_rows(con.execute("create table t (m decimal(4,2))")) == (
        duckdb.connect().execute("create table t (m decimal(4,2))").fetchall()
    )


def test_no_warning_reaches_the_user() -> None:
    # A new interpreter where every warning is an error: DuckDB's advice about the Arrow copy
    # must not reach a user of the CLI.
    code = (
        "import duckdb; from lakehouse.athena.fetch import fetch_rows; "
        "print(fetch_rows(duckdb.connect().execute('select 1.5::decimal(4,2) as m')))"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[(Decimal('1.50'),)]"
    assert done.stderr == ""


@pytest.mark.parametrize("count", [0, 1, 255, 256, 257, 513])
def test_results_around_the_first_rows(count: int) -> None:
    # The first rows are fetched one by one, the rest through Arrow: no row lost or repeated
    # at the seam, in order.
    con = duckdb.connect()
    sql = f"select i, (i / 4)::decimal(10,2) as m from range({count}) as r(i) order by i"
    expected, got = _both(con, sql)
    _same(expected, got)
    assert [row[0] for row in got] == list(range(count))


def test_a_small_result_loads_no_pyarrow() -> None:
    code = (
        "import sys, duckdb; from lakehouse.athena.fetch import fetch_rows; "
        "rows = fetch_rows(duckdb.connect().execute("
        "'select (i / 4)::decimal(10,2) from range(255) as r(i)')); "
        "print(len(rows), 'pyarrow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["255", "False"]

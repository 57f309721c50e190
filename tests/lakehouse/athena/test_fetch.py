"""fetch_rows gives exactly what DuckDB's fetchall() gives: the same values of the same types;
a large result's text and CSV, made from its Arrow columns, are those of its rows."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import struct
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lakehouse.athena.fetch import fetch_rows, fetch_values
from lakehouse.athena.results import write_csv

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


@pytest.mark.parametrize("count", [0, 1, 63, 64, 65, 255, 256, 257, 513])
def test_results_around_the_first_rows(count: int) -> None:
    # The first rows are fetched one by one, the rest through Arrow: no row lost or repeated
    # at the seam (64 rows with pyarrow loaded, as here; 256 in the test below), in order.
    import pyarrow  # noqa: F401 - loaded, as in an engine that served a large result

    con = duckdb.connect()
    sql = f"select i, (i / 4)::decimal(10,2) as m from range({count}) as r(i) order by i"
    expected, got = _both(con, sql)
    _same(expected, got)
    assert [row[0] for row in got] == list(range(count))


def test_a_small_result_loads_no_pyarrow() -> None:
    # Without pyarrow loaded, 256 rows are fetched one by one first; the rest through Arrow.
    code = (
        "import sys, duckdb; from lakehouse.athena.fetch import fetch_values; "
        "con = duckdb.connect(); sql = 'select (i / 4)::decimal(10,2) from range({}) as r(i)'; "
        "small = fetch_values(con.execute(sql.format(255))); "
        "print(len(small), small.columnar, 'pyarrow' in sys.modules); "
        "large = fetch_values(con.execute(sql.format(257))); "
        "print(len(large), large.columnar, 'pyarrow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["255", "False", "False", "257", "True", "True"]


# Every type kept in Arrow, over 256 rows so that most of them are Arrow columns, with the text
# Arrow cannot print as Athena does: a DECIMAL of scale 10 (``1E-10``), doubles (``3.0``), dates
# outside Python's range; a value with a quote, a comma and a line break; a column name too.
_TEXT = (
    "select i, (i % 2 = 0) as b, (i % 256 - 128)::tinyint as ti, i::ubigint as ub, "
    "case when i % 5 = 0 then null else (i * 1.37 - 300)::decimal(18,2) end as m, "
    "((i - 200) * 0.000001)::decimal(38,6) as m6, "
    "((i - 200) * 0.0000000001)::decimal(38,10) as m10, "
    "case when i % 3 = 0 then null else i * 0.5 end as d, (i / 3)::float as f, "
    "case when i % 4 = 0 then null else date '0999-12-30' + i::integer end as day, "
    "case i when 5 then date '20000-01-01' when 300 then date 'infinity' "
    "when 301 then date '20000-01-01' "
    "else date '2024-02-27' + i::integer end as far, "
    "case when i % 7 = 0 then null when i % 7 = 1 then '' else 'a \"quoted\", "
    'line\' || chr(10) || i end as "v, ""x""" '
    "from range(600) as r(i) order by i"
)


def _rendered(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[Any]]:
    """(the column types, every row rendered value by value from fetchall())."""
    from lakehouse.athena.trino.output import render

    cursor = con.execute(sql)
    types = [str(d[1]) for d in cursor.description or ()]
    rows = [[render(v, t) for v, t in zip(row, types, strict=True)] for row in cursor.fetchall()]
    return types, rows


def test_a_large_results_text_is_each_values_text() -> None:
    con = duckdb.connect()
    types, expected = _rendered(con, _TEXT)
    values = fetch_values(con.execute(_TEXT))
    assert values.columnar
    assert list(values.types) == types
    assert values.text_rows(None) == expected
    assert values.text_rows("NULL") == [["NULL" if v is None else v for v in r] for r in expected]
    # The cases Arrow alone would print otherwise (0E-10, 1E-10, 100).
    names = [str(d[0]) for d in con.execute(_TEXT).description or ()]
    zero = dict(zip(names, expected[200], strict=True))
    one = dict(zip(names, expected[201], strict=True))
    assert (zero["m10"], zero["m6"], zero["d"]) == ("0.0000000000", "0.000000", "100.0")
    assert (one["m10"], one["m6"]) == ("0.0000000001", "0.000001")
    assert expected[5][10] == "20000-01-01"
    assert expected[300][10] == "9999-12-31"
    assert expected[301][10] == "20000-01-01"
    # The Python values were not made for the text; asked for, they are fetchall()'s.
    assert values._rows is None
    _same(con.execute(_TEXT).fetchall(), values.rows)


def test_a_large_results_csv_is_the_csv_of_its_rows(tmp_path: Path) -> None:
    con = duckdb.connect()
    values = fetch_values(con.execute(_TEXT))
    columns = [str(d[0]) for d in con.execute(_TEXT).description or ()]
    assert values.columnar
    write_csv(tmp_path / "arrow.csv", columns, values)
    write_csv(tmp_path / "rows.csv", columns, con.execute(_TEXT).fetchall(), values.types)
    text = (tmp_path / "arrow.csv").read_text("utf-8")
    assert text == (tmp_path / "rows.csv").read_text("utf-8")
    assert text.startswith('"i","b","ti","ub","m","m6","m10","d","f","day","far","v, ""x"""\n')
    assert text.endswith('"a ""quoted"", line\n599"\n')
    assert stat.S_IMODE((tmp_path / "arrow.csv").stat().st_mode) == 0o600


@pytest.mark.parametrize("count", [0, 3, 63])
def test_a_small_result_is_kept_as_rows(count: int, tmp_path: Path) -> None:
    import pyarrow  # noqa: F401 - loaded: more than 64 rows are Arrow columns

    con = duckdb.connect()
    sql = f"select i, (i / 4)::decimal(10,2) as m, null::date as d from range({count}) r(i)"
    values = fetch_values(con.execute(sql))
    assert not values.columnar
    assert len(values) == count
    assert values.text_rows("") == [[str(i), f"{i / 4:.2f}", ""] for i in range(count)]
    write_csv(tmp_path / "r.csv", ["i", "m", "d"], values)
    lines = (tmp_path / "r.csv").read_text("utf-8").splitlines()
    assert lines == ['"i","m","d"', *(f'"{i}","{i / 4:.2f}",' for i in range(count))]


def test_with_pyarrow_loaded_more_than_64_rows_are_arrow_columns(tmp_path: Path) -> None:
    import pyarrow  # noqa: F401 - loaded, as in an engine that served a large result

    con = duckdb.connect()
    sql = "select i, (i / 4)::decimal(10,2) as m from range(65) r(i) order by i"
    values = fetch_values(con.execute(sql))
    assert values.columnar
    assert values.text_rows("") == [[str(i), f"{i / 4:.2f}"] for i in range(65)]
    write_csv(tmp_path / "r.csv", ["i", "m"], values)
    lines = (tmp_path / "r.csv").read_text("utf-8").splitlines()
    assert lines == ['"i","m"', *(f'"{i}","{i / 4:.2f}"' for i in range(65))]


# -- a large statement run again: Arrow columns from the first row (LargeResults) -------------

# Hostile values of every type fetch_values keeps in Arrow, nulls in the first row of every
# column: text with quotes, doubled quotes, commas, line feeds, carriage returns, tabs, spaces,
# unicode, an empty string; integers at their extremes; decimals of scale 0 to 10 (Arrow prints a
# scale above 6 as ``1E-7``, so those columns take the renderers), negative, zero, with trailing
# zeros and at 38 digits; doubles and floats (Java's text: ``1.0E10``, ``NaN``, ``-0.0``);
# dates at and beyond Python's range and DuckDB's infinities; a column name with a quote, a
# comma and a line feed. ``count`` rows.
_HOSTILE = (
    "select "
    "case when i = 0 then null else i end as i, "
    "case when i = 0 then null else i % 3 = 0 end as b, "
    "case when i = 0 then null when i % 2 = 0 then -9223372036854775808 "
    "else 9223372036854775807 end as bi, "
    "case when i = 0 then null else 18446744073709551615::ubigint - i::ubigint end as ub, "
    "case when i = 0 then null when i % 4 = 0 then '' when i % 4 = 1 then "
    "chr(34) || i || chr(34) || ', ' || chr(34) || chr(34) || 'x' || chr(34) || chr(34) "
    "|| ', a,b' || chr(10) || chr(13) || chr(9) || ' ☃ é ' "
    "when i % 4 = 2 then ' lead and trail ' else chr(34) || chr(34) end "
    'as "v, ""q""\n", '
    "case when i = 0 then null else ((i - 300) * 1.01)::decimal(18,2) end as m2, "
    "case when i = 0 then null else (i - 300)::decimal(18,0) end as m0, "
    "case when i = 0 then null else ((i - 300) * 0.000001)::decimal(38,6) end as m6, "
    "case when i = 0 then null else ((i - 300) * 0.0000000001)::decimal(38,10) end as m10, "
    "case when i = 0 then null when i % 2 = 0 "
    "then (-99999999999999999999999999999999999999)::decimal(38,0) "
    "else 99999999999999999999999999999999999999::decimal(38,0) end as m38, "
    "case when i = 0 then null when i % 5 = 0 then 'nan'::double "
    "when i % 5 = 1 then '-0.0'::double when i % 5 = 2 then 1e10 * i "
    "when i % 5 = 3 then 'inf'::double else i / 7 end as d, "
    "case when i = 0 then null else (i / 3)::float end as f, "
    "case when i = 0 then null else date '2024-02-27' + i::integer end as day, "
    "case when i = 0 then null when i = 5 then date 'infinity' "
    "when i = 6 then date '-infinity' when i = 7 then date '20000-01-01' "
    "when i = 8 then date '0001-01-01' when i = 9 then date '9999-12-31' "
    "else date '0999-12-30' + i::integer end as far "
    "from range({count}) as r(i) order by r.i"
)


@pytest.mark.parametrize("count", [0, 1, 8, 63, 64, 65, 600])
def test_a_result_fetched_as_arrow_from_its_first_row_prints_the_same_bytes(
    count: int, tmp_path: Path
) -> None:
    # The same result fetched three ways: the renderers over fetchall()'s rows (what Athena
    # prints), the first rows one by one and then Arrow (fetch_values), and Arrow from the
    # first row (a statement an engine remembers as large, whatever its size now). Every
    # byte of the result CSV, every text and every value must be the same.
    import pyarrow  # noqa: F401 - loaded, as in an engine that served a large result

    con = duckdb.connect()
    sql = _HOSTILE.format(count=count)
    names = [str(d[0]) for d in con.execute(sql).description or ()]
    types, rendered = _rendered(con, sql)
    probed = fetch_values(con.execute(sql))
    arrow = fetch_values(con.execute(sql), arrow_first=True)
    assert arrow._first == []
    assert arrow.columnar == (count > 0)
    write_csv(tmp_path / "rows.csv", names, con.execute(sql).fetchall(), types)
    write_csv(tmp_path / "probed.csv", names, probed)
    write_csv(tmp_path / "arrow.csv", names, arrow)
    expected = (tmp_path / "rows.csv").read_bytes()
    assert (tmp_path / "probed.csv").read_bytes() == expected
    assert (tmp_path / "arrow.csv").read_bytes() == expected
    assert stat.S_IMODE((tmp_path / "arrow.csv").stat().st_mode) == 0o600
    assert arrow.text_rows(None) == rendered
    assert arrow.text_rows("NULL") == [["NULL" if v is None else v for v in r] for r in rendered]
    _same(con.execute(sql).fetchall(), arrow.rows)
    if count > 9:  # the cases, spelled out
        text = expected.decode("utf-8")
        assert text.startswith('"i","b","bi","ub","v, ""q""\n","m2",')
        assert "\n,,,,,,,,,,,,,\n" in text  # the first row: every value NULL, unquoted
        assert (
            '"2","false","-9223372036854775808","18446744073709551613"," lead and trail ",'
            '"-300.98","-298","-0.000298","-0.0000000298",'
            '"-99999999999999999999999999999999999999","2.0E10","0.6666667","2024-02-29",'
            '"1000-01-01"\n'
        ) in text
        assert '"""1"", """"x"""", a,b\n\r\t ☃ é "' in text
        for value in ('""""""', '""', '"-0.0"', '"NaN"', '"Infinity"'):  # "" and ''
            assert value + "," in text
        for day in ("9999-12-31", "0001-01-01", "20000-01-01"):
            assert f'"{day}"\n' in text


def test_a_result_of_other_types_is_fetched_by_fetchall_even_when_large() -> None:
    # Arrow from the first row is only for the types fetch_values converts itself.
    import pyarrow  # noqa: F401

    con = duckdb.connect()
    sql = "select timestamp '2024-01-01 10:00:00' + to_seconds(i) as t from range(100) r(i)"
    values = fetch_values(con.execute(sql), arrow_first=True)
    assert not values.columnar
    _same(con.execute(sql).fetchall(), values.rows)


def test_a_statement_is_fetched_as_arrow_from_its_first_row_after_a_large_result(
    tmp_path: Path,
) -> None:
    from lakehouse.athena.fetch import LargeResults

    con = duckdb.connect()
    con.execute("create table t as select * from (" + _HOSTILE.format(count=600) + ")")
    sql = "select * from t order by i nulls first"
    names = [str(d[0]) for d in con.execute(sql).description or ()]
    large = LargeResults()
    csvs = []
    for n in range(3):
        values = large.fetch(con.execute(sql), sql)
        # The first run fetches its first rows one by one, the next ones none.
        assert len(values._first) == (64 if n == 0 else 0)
        assert values.columnar
        assert sql in large
        write_csv(tmp_path / f"{n}.csv", names, values)
        csvs.append((tmp_path / f"{n}.csv").read_bytes())
    assert csvs[1:] == [csvs[0], csvs[0]]
    # The result shrinks: fetched right (as Arrow once), then forgotten.
    con.execute("delete from t where i > 3")
    small = large.fetch(con.execute(sql), sql)
    assert sql not in large
    _same(con.execute(sql).fetchall(), small.rows)
    write_csv(tmp_path / "small.csv", names, small)
    # The header and the first four rows (NULL, 1, 2, 3) of the large result's CSV.
    assert (tmp_path / "small.csv").read_bytes() == csvs[0].split(b'\n"4",')[0] + b"\n"
    again = large.fetch(con.execute(sql), sql)
    assert not again.columnar
    assert len(again) == 4
    # A statement with a small result is never remembered.
    large.fetch(con.execute("select 1 as x"), "select 1 as x")
    assert "select 1 as x" not in large


def test_the_statements_remembered_are_bounded() -> None:
    from lakehouse.athena.fetch import LargeResults

    con = duckdb.connect()
    large = LargeResults(limit=2)
    sqls = [f"select i + {k} as i from range(100) r(i)" for k in range(3)]
    for sql in sqls:
        large.fetch(con.execute(sql), sql)
    assert [sql in large for sql in sqls] == [False, True, True]
    large.fetch(con.execute(sqls[1]), sqls[1])  # the most recently run is kept longest
    large.fetch(con.execute(sqls[0]), sqls[0])
    assert [sql in large for sql in sqls] == [True, True, False]


# More than 256 rows (the CLI's first rows are Python values, the rest Arrow columns), with a
# null in the first rows of every column that can hold one, and doubles, which Arrow does not
# print as Athena does (decimals of a larger scale and the other cases: _TEXT above).
_CLI_SQL = (
    "select i, (i % 2 = 0) as b, cast(cast(i as varchar) || '.05' as decimal(12,2)) as m, "
    "case when i % 5 = 0 then null else cast('-' || cast(i as varchar) || '.5' "
    "as decimal(18,2)) end as n, "
    "case when i % 3 = 0 then null else cast(i as double) / 4 end as d, "
    "case when i % 4 = 0 then null else date_add('day', i, date '2024-01-01') end as day, "
    "case when i % 7 = 0 then null else 'a \"q\", ' || cast(i as varchar) end as v "
    "from unnest(sequence(0, 599)) as t(i) order by i"
)


def _cli_expected() -> list[list[str | None]]:
    """Every row of _CLI_SQL as Athena prints it, written out here."""
    rows: list[list[str | None]] = []
    for i in range(600):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=i)
        rows.append(
            [
                str(i),
                "true" if i % 2 == 0 else "false",
                f"{i}.05",
                None if i % 5 == 0 else f"-{i}.50",
                None if i % 3 == 0 else str(i / 4),  # Java's text too: 0.25, 1.0, 149.75
                None if i % 4 == 0 else day.isoformat(),
                None if i % 7 == 0 else f'a "q", {i}',
            ]
        )
    return rows


def _result_csv(names: list[str], rows: list[list[str | None]]) -> str:
    """Athena's result CSV of ``rows`` (texts): every value quoted, NULL empty and unquoted."""

    def field(value: str | None) -> str:
        return "" if value is None else '"' + value.replace('"', '""') + '"'

    lines = [",".join(f'"{n}"' for n in names)]
    lines += [",".join(field(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def _cli(tmp_path: Path, *args: str) -> tuple[str, set[str]]:
    """(standard output, the modules imported) of a new ``lakehouse athena`` process."""
    env = {
        **os.environ,
        "LAKEHOUSE_LAKE": str(tmp_path / "lake"),
        "LAKEHOUSE_STATE_DIR": str(tmp_path / "state"),
    }
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lakehouse.cli.main", "athena", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # -X importtime writes "import time: self | cumulative | <indent>name" for each import.
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    return done.stdout, modules


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_large_result_in_the_cli_prints_its_text_without_pandas(fmt: str, tmp_path: Path) -> None:
    # A one-off call with a large result loads pyarrow for its Arrow columns; pyarrow.array of
    # Python values (the first rows) would import pandas, which costs more than the query.
    out, modules = _cli(tmp_path, "--format", fmt, _CLI_SQL)
    assert "pyarrow" in modules  # the result was columnar
    assert "pandas" not in modules
    assert not [m for m in modules if m.startswith("pandas.")]
    if fmt == "csv":
        # Printed as CSV only: Arrow's CSV writer casts the columns itself (integers, booleans,
        # text, decimals and dates, nulls among them) and the renderers print the doubles;
        # pyarrow.compute, whose import costs more than the casts, never loads.
        assert "pyarrow.compute" not in modules
    expected = _cli_expected()
    names = ["i", "b", "m", "n", "d", "day", "v"]
    if fmt == "json":
        assert json.loads(out) == [dict(zip(names, row, strict=True)) for row in expected]
        return
    assert out == _result_csv(names, expected)


def test_a_date_column_is_printed_by_arrow_whatever_its_nulls_hide(tmp_path: Path) -> None:
    # The slots under a null hold anything (DuckDB leaves other days there): only valid days
    # decide whether Arrow's text of a DATE column is Athena's, in any slice of a buffer.
    import io

    import pyarrow as pa

    from lakehouse.athena.fetch import ResultValues, _days_in_range

    infinity, day = 2**31 - 1, (dt.date(2024, 12, 1) - dt.date(1970, 1, 1)).days
    days = pa.py_buffer(struct.pack("=5i", infinity, day, infinity, day + 1, infinity))
    valid = pa.py_buffer(bytes([0b01010]))  # rows 1 and 3
    column = pa.Array.from_buffers(pa.date32(), 5, [valid, days], null_count=3)
    assert _days_in_range(pa.chunked_array([column]))
    assert _days_in_range(pa.chunked_array([column.slice(1, 3)]))
    assert not _days_in_range(
        pa.chunked_array([pa.array([day, infinity], pa.int32()).cast(pa.date32())])
    )
    values = ResultValues(["DATE"], [(dt.date(2024, 1, 1),)], pa.table({"d": column}))
    out = io.BytesIO()
    values.write_csv(out, ["d"])
    assert out.getvalue() == b'"d"\n"2024-01-01"\n\n"2024-12-01"\n\n"2024-12-02"\n\n'


@pytest.mark.parametrize(
    "texts",
    [
        [],
        [None],
        [""],
        ["x"],
        [None] * 9,
        ["a", None] * 9,
        ['tenant ☃ "x"', None, "é", "", "line\n"],
    ],
)
def test_text_becomes_the_arrow_array_pyarrow_would_make(texts: list[str | None]) -> None:
    # Built from its buffers (validity bits across bytes, offsets, UTF-8), the same array as
    # pyarrow.array's, which the CLI avoids (it imports pandas).
    import pyarrow as pa

    from lakehouse.athena.fetch import _strings

    made = _strings(texts)
    made.validate(full=True)
    assert made.equals(pa.array(texts, pa.string()))
    assert made.null_count == texts.count(None)


# -- a result fetched as text (execute(..., as_text=True), what the CLI asks for) --------------

# Every type DuckDB casts to Athena's text itself, over 256 rows: nulls in every column,
# extremes, decimals of scale 0 to 18 (negative, zero, trailing zeros), DuckDB's infinite dates,
# dates before year 1000 and outside Python's range, and text with unicode, quotes, commas, line
# breaks, an empty string and a NUL character.
_AS_TEXT = (
    "select i, (i % 2 = 0) as b, (i % 256 - 128)::tinyint as ti, i::ubigint as ub, "
    "(i * 170141183460469231731687303715884105)::hugeint as h, "
    "case when i % 5 = 0 then null else (i * 1.37 - 300)::decimal(18,2) end as m, "
    "((i - 200) * 0.0000000001)::decimal(38,10) as m10, "
    "((i - 200) * 0.000000000000000001)::decimal(38,18) as m18, "
    "(i - 300)::decimal(18,0) as m0, "
    "case when i % 4 = 0 then null else date '0999-12-30' + i::integer end as day, "
    "case i when 5 then date '20000-01-01' when 300 then date 'infinity' "
    "when 301 then date '-infinity' when 302 then date '0001-01-01' - 1 "
    "when 303 then date '9999-12-31' else date '2024-02-27' + i::integer end as far, "
    "case when i % 7 = 0 then null when i % 7 = 1 then '' when i = 9 then 'nul' || chr(0) "
    'else \'a "quoted", tenant ☃ é line\' || chr(10) || i || chr(13) end as "v, ""x""" '
    "from range(600) as r(i) order by i desc"
)
# Types whose DuckDB text is not Athena's: fetched as values, as without as_text.
_NOT_AS_TEXT = [
    "select i * 0.5 as d, (i / 3)::float as f, i from range(300) as r(i) order by i",
    "select timestamp '2024-01-01 10:00:00.123456' + to_seconds(i) as t from range(300) r(i)",
    "select timestamptz '2024-01-01 10:00:00+02' as t, 1.5::decimal(4,2) as m",
    "select [1, 2] as l, {'a': 1} as s, interval 3 day as iv, 'x'::blob as bl",
    "select uuid '3b2d8c0e-6a4e-4a4e-9a4e-3b2d8c0e6a4e' as u, time '10:00:00' as t",
]


def _run(con: duckdb.DuckDBPyConnection, sql: str, as_text: bool) -> tuple[Any, list[Any]]:
    import time

    from lakehouse.athena.session import Limits, run_on

    return run_on(con, sql, time.monotonic() + 60, Limits(), as_text)


def test_a_result_fetched_as_text_is_each_values_text_and_fetchall_rows(tmp_path: Path) -> None:
    from lakehouse.athena.fetch import ResultText

    con = duckdb.connect()
    types, expected = _rendered(con, _AS_TEXT)
    values, description = _run(con, _AS_TEXT, as_text=True)
    assert isinstance(values, ResultText)
    assert [str(d[1]) for d in description] == types == list(values.types)
    assert [str(d[0]) for d in description][-1] == 'v, "x"'
    assert values.text_rows(None) == expected
    assert values.text_rows("NULL") == [["NULL" if v is None else v for v in r] for r in expected]
    # The cases that need care, spelled out (rows are in descending order).
    by_i = {int(str(row[0])): row for row in expected}
    assert by_i[201][6:8] == ["0.0000000001", "0.000000000000000001"]
    assert by_i[0][6:9] == ["-0.0000000200", "-0.000000000000000200", "-300"]
    assert [by_i[i][10] for i in (5, 300, 301, 302, 303)] == [
        "20000-01-01",
        "9999-12-31",
        "0001-01-01",
        "0001-12-31 (BC)",
        "9999-12-31",
    ]
    assert by_i[1][9] == "0999-12-31"
    assert by_i[9][11] == "nul\x00"
    # Its Python values, made from the text, are fetchall()'s: value and type.
    _same(con.execute(_AS_TEXT).fetchall(), values.rows)
    # Its CSV is the CSV of those rows (a NUL in a value: built value by value) ...
    columns = [str(d[0]) for d in description]
    write_csv(tmp_path / "text.csv", columns, values)
    write_csv(tmp_path / "rows.csv", columns, con.execute(_AS_TEXT).fetchall(), types)
    text = (tmp_path / "text.csv").read_bytes().decode("utf-8")
    assert text == (tmp_path / "rows.csv").read_bytes().decode("utf-8")
    assert stat.S_IMODE((tmp_path / "text.csv").stat().st_mode) == 0o600
    # ... and without one, built a column at a time: the same bytes.
    no_nul = _AS_TEXT.replace("when i = 9 then 'nul' || chr(0) ", "")
    values, _ = _run(con, no_nul, as_text=True)
    write_csv(tmp_path / "text.csv", columns, values)
    write_csv(tmp_path / "rows.csv", columns, con.execute(no_nul).fetchall(), types)
    text = (tmp_path / "text.csv").read_bytes().decode("utf-8")  # \r kept
    assert text == (tmp_path / "rows.csv").read_bytes().decode("utf-8")
    assert text.startswith('"i","b","ti","ub","h","m","m10","m18","m0","day","far","v, ""x"""\n')
    assert '"a ""quoted"", tenant ☃ é line\n598\r"\n' in text


@pytest.mark.parametrize("count", [0, 1, 2])
def test_a_small_result_fetched_as_text(count: int, tmp_path: Path) -> None:
    con = duckdb.connect()
    sql = f"select null::varchar as v, 1.50::decimal(4,2) as m from range({count})"
    values, description = _run(con, sql, as_text=True)
    assert len(values) == count
    assert values.rows == con.execute(sql).fetchall()
    write_csv(tmp_path / "r.csv", [str(d[0]) for d in description], values)
    assert (tmp_path / "r.csv").read_text("utf-8") == '"v","m"\n' + ',"1.50"\n' * count


@pytest.mark.parametrize("sql", [*_NOT_AS_TEXT, _TEXT, "create table t (m decimal(4,2))"])
def test_as_text_prints_every_other_result_as_its_values(sql: str, tmp_path: Path) -> None:
    # Doubles, timestamps and the rest are fetched as values (DuckDB's text is not Athena's);
    # a statement other than one SELECT is run once, as it is without as_text.
    from lakehouse.athena.fetch import ResultText

    text, description = _run(duckdb.connect(), sql, as_text=True)
    values, same_description = _run(duckdb.connect(), sql, as_text=False)
    assert not isinstance(text, ResultText)
    assert description == same_description
    assert text.text_rows("NULL") == values.text_rows("NULL")
    columns = [str(d[0]) for d in description]
    write_csv(tmp_path / "a.csv", columns, text)
    write_csv(tmp_path / "b.csv", columns, values)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


class _SlowToBind:
    """A DuckDB connection whose ``sql()`` (the text path's bind) takes ``delay`` seconds
    first: the deadline then passes while no statement runs, where an interrupt stops
    nothing (the CLI's timeout failed so on a loaded CI machine)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, delay: float) -> None:
        self._con = con
        self._delay = delay

    def sql(self, query: str) -> Any:
        import time

        time.sleep(self._delay)
        return self._con.sql(query)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


@pytest.mark.parametrize(
    ("bind_delay", "timeout"),
    [(0.0, 0.5), (0.6, 0.3)],
    ids=["while the query runs", "between the bind and the run"],
)
def test_a_timeout_stops_a_result_fetched_as_text(bind_delay: float, timeout: float) -> None:
    import time
    from typing import cast

    from lakehouse.athena.errors import AthenaQueryError
    from lakehouse.athena.session import Limits, run_on

    con = cast(duckdb.DuckDBPyConnection, _SlowToBind(duckdb.connect(), delay=bind_delay))
    sql = "select count(*) from range(100000000000) a"
    started = time.monotonic()
    with pytest.raises(AthenaQueryError) as caught:
        run_on(con, sql, time.monotonic() + timeout, Limits(timeout_seconds=timeout), as_text=True)
    assert caught.value.code == "EXCEEDED_TIME_LIMIT"
    assert time.monotonic() - started < 30
    # Nothing interrupts the connection's next statement.
    assert con.execute("select 42").fetchall() == [(42,)]


# More than 256 rows of types DuckDB prints as Athena does: the CLI asks for text, so neither
# pyarrow nor pandas loads (before, every result of more than 256 rows loaded pyarrow).
_CLI_TEXT_SQL = (
    "select i, (i % 2 = 0) as b, cast(cast(i as varchar) || '.05' as decimal(12,2)) as m, "
    "case when i % 5 = 0 then null else cast('-' || cast(i as varchar) || '.5' "
    "as decimal(18,2)) end as n, "
    "case when i % 4 = 0 then null else date_add('day', i, date '2024-01-01') end as day, "
    "case when i % 7 = 0 then null else 'a \"q\", ' || cast(i as varchar) end as v "
    "from (select a.x + 10 * b.x + 100 * c.x as i from (values 0, 1, 2, 3, 4, 5, 6, 7, 8, 9) "
    "as a(x) cross join (values 0, 1, 2, 3, 4, 5, 6, 7, 8, 9) as b(x) "
    "cross join (values 0, 1, 2, 3, 4, 5) as c(x)) as t order by i"
)


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_a_large_result_in_the_cli_loads_neither_pyarrow_nor_pandas(
    fmt: str, tmp_path: Path
) -> None:
    out, modules = _cli(tmp_path, "--format", fmt, _CLI_TEXT_SQL)
    # (numpy too: only the translation's Python functions load it, and this SQL needs none.)
    assert not [m for m in modules if m.split(".")[0] in ("pyarrow", "pandas", "numpy")]
    expected = [[row[0], row[1], row[2], row[3], row[5], row[6]] for row in _cli_expected()]
    names = ["i", "b", "m", "n", "day", "v"]
    if fmt == "json":
        assert json.loads(out) == [dict(zip(names, row, strict=True)) for row in expected]
        return
    if fmt == "table":
        from lakehouse.cli.tables import markdown_table

        cells = [["NULL" if v is None else v for v in row] for row in expected]
        assert out == markdown_table(names, cells)
        return
    assert out == _result_csv(names, expected)

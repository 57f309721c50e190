"""Trino semantics over typed columns, and refusals that name what is missing.

The conformance suite covers the documented examples (literals); these cases type columns from a
catalog schema and from subqueries, where a wrong type would silently change the answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
import sqlglot
from sqlglot.schema import MappingSchema

from lakehouse.athena.trino import TranslationRefusedError, install, render, translate

SCHEMA = MappingSchema(
    {
        "silver": {
            "orders": {
                "id": "varchar",
                "quantity": "integer",
                "items": "bigint",
                "total": "decimal(12,2)",
                "placed_at": "timestamp",
                "placed_on": "date",
                "ratio": "double",
            }
        }
    },
    dialect="athena",
)

ROWS = """
    create schema silver;
    create table silver.orders as select * from (values
        ('a', 7, 10, 10.00::decimal(12,2), timestamp '2024-01-31 10:00:00', date '2024-01-31', 0.5),
        ('b', -7, 3, 2.00::decimal(12,2), timestamp '2024-02-01 00:00:00', date '2024-02-01', 1e10),
        ('c', 2, 3, 3.00::decimal(12,2), timestamp '2024-02-02 00:00:00', date '2024-02-02', 2.0)
    ) t(id, quantity, items, total, placed_at, placed_on, ratio);
"""


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("set TimeZone = 'UTC'")
    install(connection)
    connection.execute(ROWS)
    yield connection
    connection.close()


def query(con: duckdb.DuckDBPyConnection, sql: str) -> list[list[Any]]:
    duck_sql = translate(sqlglot.parse_one(sql, read="athena"), SCHEMA)
    cursor = con.execute(duck_sql)
    types = [str(d[1]) for d in cursor.description or []]
    return [[render(v, t) for v, t in zip(row, types, strict=True)] for row in cursor.fetchall()]


def test_integer_columns_divide_as_integers(con: duckdb.DuckDBPyConnection) -> None:
    got = query(con, "select id, quantity / 2, quantity % 4 from silver.orders order by id")
    assert got == [["a", "3", "3"], ["b", "-3", "-3"], ["c", "1", "2"]]


def test_count_divided_by_an_integer_is_an_integer(con: duckdb.DuckDBPyConnection) -> None:
    assert query(con, "select count(*) / 2 from silver.orders") == [["1"]]


def test_division_through_a_cte_keeps_the_integer_type(con: duckdb.DuckDBPyConnection) -> None:
    sql = """
        with per_order as (select id, items as n from silver.orders)
        select sum(n) / count(*) as average from per_order
    """
    assert query(con, sql) == [["5"]]


def test_decimal_division_is_exact_and_rounded_half_up(con: duckdb.DuckDBPyConnection) -> None:
    got = query(con, "select total / 3 from silver.orders order by id")
    assert got == [["3.33"], ["0.67"], ["1.00"]]


def test_decimal_average_keeps_the_scale(con: duckdb.DuckDBPyConnection) -> None:
    assert query(con, "select avg(total) from silver.orders") == [["5.00"]]


def test_dates_stay_dates(con: duckdb.DuckDBPyConnection) -> None:
    got = query(
        con,
        "select date_add('month', 1, placed_on), placed_on + interval '1' day, "
        "date_trunc('month', placed_on) from silver.orders where id = 'a'",
    )
    assert got == [["2024-02-29", "2024-02-01", "2024-01-01"]]


@pytest.mark.parametrize(
    ("call", "text"),
    [
        ("substr(id || 'bcdef', 0)", ""),
        ("substr(id || 'bcdef', 9)", ""),
        ("substr(id || 'bcdef', -9)", ""),
        ("substr(id || 'bcdef', -2)", "ef"),
        ("substr(id || 'bcdef', 2, 0)", ""),
        ("substr(id || 'bcdef', -3, 2)", "de"),
        ("substr(id || 'bcdef', 5, 9)", "ef"),
    ],
)
def test_substr_positions_as_trino(con: duckdb.DuckDBPyConnection, call: str, text: str) -> None:
    """Trino's substr: start 0 or out of range is '' (DuckDB would return the whole string)."""
    assert query(con, f"select {call} from silver.orders where id = 'a'") == [[text]]


def test_trim_removes_java_whitespace_and_reals_print_as_java_floats(
    con: duckdb.DuckDBPyConnection,
) -> None:
    got = query(
        con,
        "select trim(chr(9) || id || chr(10)), ltrim(chr(13) || id), "
        "cast(real '0.1' as varchar) from silver.orders where id = 'a'",
    )
    assert got == [["a", "a", "0.1"]]


def test_timestamps_print_milliseconds(con: duckdb.DuckDBPyConnection) -> None:
    got = query(
        con, "select placed_at, cast(placed_at as varchar) from silver.orders where id = 'b'"
    )
    assert got == [["2024-02-01 00:00:00.000", "2024-02-01 00:00:00.000"]]


def test_doubles_cast_to_varchar_as_java_prints_them(con: duckdb.DuckDBPyConnection) -> None:
    got = query(con, "select cast(ratio as varchar) from silver.orders order by id")
    assert got == [["0.5"], ["1.0E10"], ["2.0"]]


def test_typeof_names_trino_types(con: duckdb.DuckDBPyConnection) -> None:
    got = query(
        con,
        "select typeof(quantity / 2), typeof(total * 2), typeof(sum(total)), typeof(placed_on) "
        "from silver.orders",
    )
    assert got == [["integer", "decimal(22,2)", "decimal(38,2)", "date"]]


@pytest.mark.parametrize(
    ("sql", "code", "name"),
    [
        ("select word_stem(id) from silver.orders", "FUNCTION_NOT_FOUND", "word_stem"),
        (
            "select athena_distinct(array[1]) from silver.orders",
            "FUNCTION_NOT_FOUND",
            "athena_distinct",
        ),
        ("select read_csv('x')", "FUNCTION_NOT_FOUND", "read_csv"),
        ("select regexp_like(id, '(?<=a)b') from silver.orders", "NOT_SUPPORTED", "regexp_like"),
        ("select regexp_like(id, id) from silver.orders", "NOT_SUPPORTED", "regexp_like"),
        (
            "select placed_at at time zone 'Europe/Paris' from silver.orders",
            "NOT_SUPPORTED",
            "at time zone",
        ),
        ("select from_unixtime(0, 'Asia/Tokyo')", "NOT_SUPPORTED", "from_unixtime"),
        ("select date_format(placed_at, '%U') from silver.orders", "NOT_SUPPORTED", "date_format"),
        (
            "select format_datetime(placed_at, 'ww') from silver.orders",
            "NOT_SUPPORTED",
            "format_datetime",
        ),
    ],
)
def test_refusals_name_the_function(sql: str, code: str, name: str) -> None:
    with pytest.raises(TranslationRefusedError) as caught:
        translate(sqlglot.parse_one(sql, read="athena"), SCHEMA)
    assert caught.value.code == code
    assert name in str(caught.value)


def test_one_sqlglot_class_printing_as_two_functions_keeps_them_apart(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """sqlglot parses sha256 and sha512 into one class; each must still run as itself."""
    got = query(
        con,
        "select length(sha256(to_utf8(id))), length(sha512(to_utf8(id))), "
        "length(sha256(to_utf8(id))) from silver.orders where id = 'a'",
    )
    assert got == [["32", "64", "32"]]

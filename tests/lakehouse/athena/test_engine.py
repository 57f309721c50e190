"""The Athena stand-in: real DuckDB over the real test lake, answers checked against PostgreSQL."""

from __future__ import annotations

import json

import pytest

from lakehouse.athena.engine import AthenaEngine, AthenaQueryError
from tests.support.lake import Lake
from tests.support.oracle import assert_same_rows, pg_rows


def run(lake: Lake, sql: str) -> list[tuple[object, ...]]:
    with AthenaEngine(lake.settings, save_results=False) as engine:
        (result,) = engine.execute(sql)
    return result.rows


def test_silver_orders_equal_postgresql_row_for_row(athena_lake: Lake) -> None:
    got = run(
        athena_lake,
        """
        select id, tenant_id, customer_id, order_number, status, subtotal, discount, tax,
               shipping, total, notes, shipping_address, placed_at, paid_at, refunded_at
        from awsdatacatalog.silver.orders
        order by id
        """,
    )
    expected = pg_rows(
        athena_lake.dsn,
        """
        select id::text, tenant_id::text, customer_id::text, order_number, status, subtotal,
               discount, tax, shipping, total, notes, shipping_address::text, placed_at,
               paid_at, refunded_at
        from orders order by id::text
        """,
    )
    assert_same_rows(got, expected)


def test_bronze_reads_null_empty_and_awkward_text_exactly(athena_lake: Lake) -> None:
    got = run(
        athena_lake,
        "select id, company, phone, city, notes from bronze.customers order by id",
    )
    expected = pg_rows(
        athena_lake.dsn,
        "select id::text, company, phone, city, notes from customers order by id::text",
    )
    assert_same_rows(got, expected)
    notes = {r[4] for r in got}
    assert {None, "", "NULL", "\\N", 'a,b "quoted"\nsecond line\ttab'} <= notes


def test_exact_decimal_sums(athena_lake: Lake) -> None:
    got = run(
        athena_lake,
        "select tenant_id, sum(total) as total from silver.orders group by tenant_id "
        "order by tenant_id",
    )
    expected = pg_rows(
        athena_lake.dsn,
        "select tenant_id::text, sum(total) from orders group by 1 order by 1",
    )
    assert_same_rows(got, expected)


def test_trino_functions_are_translated(athena_lake: Lake) -> None:
    got = run(
        athena_lake,
        """
        select
            date_format(min(placed_at), '%Y-%m') as first_month,
            date_diff('day', min(placed_at), max(placed_at)) as span_days,
            approx_distinct(customer_id) > 0 as has_customers,
            count(*)
        from silver.orders
        """,
    )
    expected = pg_rows(
        athena_lake.dsn,
        """
        select to_char(min(placed_at), 'YYYY-MM'),
               extract(day from max(placed_at) - min(placed_at))::int, true, count(*)
        from orders
        """,
    )
    assert_same_rows(got, expected)


def test_several_statements_run_in_order_and_keep_results(athena_lake: Lake) -> None:
    with AthenaEngine(athena_lake.settings) as engine:
        first, second = engine.execute(
            "select count(*) from silver.tenants; select slug from silver.tenants order by slug"
        )
    assert first.columns == ("_col0",)
    assert first.rows == [(3,)]
    assert second.rows == [("acme",), ("globex",), ("initech",)]
    assert first.query_id != second.query_id
    assert first.result_path is not None
    assert second.result_path is not None
    assert second.result_path.read_text(encoding="utf-8") == (
        '"slug"\n"acme"\n"globex"\n"initech"\n'
    )
    assert first.metadata_path is not None
    meta = json.loads(first.metadata_path.read_text(encoding="utf-8"))
    assert meta["QueryExecutionId"] == first.query_id
    assert meta["Status"]["State"] == "SUCCEEDED"
    assert meta["Statistics"]["Rows"] == 1


def test_result_csv_writes_null_unquoted_and_empty_quoted(athena_lake: Lake) -> None:
    with AthenaEngine(athena_lake.settings) as engine:
        (result,) = engine.execute(
            "select company from bronze.customers where company is null or company = '' "
            "group by company order by company nulls first"
        )
    assert result.result_path is not None
    assert result.result_path.read_text(encoding="utf-8") == '"company"\n\n""\n'


@pytest.mark.parametrize(
    ("sql", "code", "detail"),
    [
        ("select * from", "SYNTAX_ERROR", ""),
        ("selec 1", "SYNTAX_ERROR", ""),
        ("select * from gold.foo", "TABLE_NOT_FOUND", "gold.foo"),
        ("select * from orders", "TABLE_NOT_FOUND", "default.orders"),
        ("select * from analytics.orders", "SCHEMA_NOT_FOUND", "analytics"),
        ("select * from hive.silver.orders", "CATALOG_NOT_FOUND", "hive"),
        ("select no_such_column from silver.orders", "COLUMN_NOT_FOUND", "no_such_column"),
        ("select word_stem(notes) from silver.orders", "FUNCTION_NOT_FOUND", "word_stem"),
        ("select no_such_function(1)", "FUNCTION_NOT_FOUND", "no_such_function"),
        ("select * from read_parquet('/etc/passwd')", "NOT_SUPPORTED", "table functions"),
        ("create table silver.x as select 1 as a", "NOT_SUPPORTED", "CREATE"),
        ("drop table silver.orders", "NOT_SUPPORTED", "DROP"),
        ("insert into silver.orders select * from silver.orders", "NOT_SUPPORTED", "INSERT"),
    ],
)
def test_bad_input_is_an_athena_error(athena_lake: Lake, sql: str, code: str, detail: str) -> None:
    with pytest.raises(AthenaQueryError) as info:
        run(athena_lake, sql)
    assert info.value.code == code
    assert str(info.value).startswith(f"{code}: ")
    assert detail in str(info.value)


def test_a_later_bad_statement_stops_before_anything_runs(athena_lake: Lake) -> None:
    with AthenaEngine(athena_lake.settings) as engine, pytest.raises(AthenaQueryError) as info:
        engine.execute("select 1; select * from gold.nope")
    assert info.value.code == "TABLE_NOT_FOUND"


def test_without_a_tenant_duckdb_is_confined_to_the_lake(athena_lake: Lake) -> None:
    import duckdb

    with AthenaEngine(athena_lake.settings, save_results=False) as engine:
        engine.execute("select count(*) from silver.orders")
        with pytest.raises(duckdb.PermissionException):
            engine._con.execute("select * from read_csv('/etc/passwd')")
        with pytest.raises(duckdb.InvalidInputException):
            engine._con.execute("set enable_external_access = true")
        # Later statements may still use other lake tables.
        (result,) = engine.execute("select count(*) from gold.tenant_summary")
        assert result.rows == [(3,)]

"""Tenant scoping holds against real attempts to read another tenant's rows."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from lakehouse.athena.engine import AthenaEngine, AthenaQueryError
from lakehouse.errors import LakehouseError
from tests.support.lake import Lake
from tests.support.oracle import assert_same_rows, pg_rows


def scoped(lake: Lake, sql: str, tenant: str = "acme") -> list[tuple[object, ...]]:
    with AthenaEngine(lake.settings, tenant=tenant, save_results=False) as engine:
        results = engine.execute(sql)
    return results[-1].rows


def test_every_table_holds_only_the_tenants_rows(athena_lake: Lake) -> None:
    acme = athena_lake.tenant_ids["acme"]
    for table in ("customers", "orders", "order_items", "events", "invoices"):
        got = scoped(
            athena_lake,
            f"select tenant_id, count(*) from silver.{table} group by tenant_id",
        )
        expected = pg_rows(
            athena_lake.dsn,
            f"select tenant_id::text, count(*) from {table} where tenant_id = '{acme}' group by 1",
        )
        assert_same_rows(got, expected)
    assert scoped(athena_lake, "select slug from silver.tenants") == [("acme",)]
    assert scoped(athena_lake, "select count(*) from bronze.tenants") == [(1,)]
    assert scoped(athena_lake, "select distinct tenant_id from bronze.orders") == [(acme,)]
    assert scoped(athena_lake, "select tenant_id, tenant_name from gold.tenant_summary") == [
        (acme, "Acme O'Brien & Co")
    ]


def test_dashboard_for_one_tenant_equals_postgresql(athena_lake: Lake) -> None:
    from lakehouse.paths import ATHENA_QUERIES_DIR
    from tests.support.oracle import DASHBOARD_PG

    sql = (ATHENA_QUERIES_DIR / "business" / "tenant_performance_dashboard.sql").read_text("utf-8")
    got = scoped(athena_lake, sql, tenant="globex")
    # The all-tenant answer's globex row, ranked alone: the scoped query sees one tenant.
    expected = [
        (1, *row[1:]) for row in pg_rows(athena_lake.dsn, DASHBOARD_PG) if row[2] == "globex"
    ]
    assert len(expected) == 1
    assert_same_rows(got, expected)


@pytest.mark.parametrize(
    "where",
    [
        "tenant_id = '{other}'",
        "tenant_id <> '{me}'",
        "tenant_id in ('{other}', '{third}')",
        "lower(tenant_id) = lower('{other}')",
        "1 = 1 or tenant_id = '{other}'",
    ],
)
def test_another_tenants_id_in_where_finds_nothing(athena_lake: Lake, where: str) -> None:
    ids = athena_lake.tenant_ids
    cond = where.format(me=ids["acme"], other=ids["globex"], third=ids["initech"])
    rows = scoped(athena_lake, f"select distinct tenant_id from silver.orders where {cond}")
    assert rows in ([], [(ids["acme"],)])
    assert scoped(
        athena_lake,
        f"select count(*) from silver.customers where tenant_id = '{ids['globex']}'",
    ) == [(0,)]


def _other_partition(lake: Lake, table: str = "orders") -> Path:
    return Path(lake.settings.silver_uri) / table / f"tenant_id={lake.tenant_ids['globex']}"


@pytest.mark.parametrize(
    ("template", "code"),
    [
        ("select * from read_parquet('{path}/*.parquet')", "NOT_SUPPORTED"),
        (
            "select count(*) from silver.orders union all select count(*) from "
            "read_parquet('{path}/*.parquet')",
            "NOT_SUPPORTED",
        ),
        ('select * from "{path}/part-00000-test.snappy.parquet"', "TABLE_NOT_FOUND"),
        ("select * from parquet_scan('{path}/*.parquet')", "NOT_SUPPORTED"),
        ("select * from glob('{path}/*')", "SYNTAX_ERROR"),
        (
            "select * from read_csv('{path}/../../../bronze/dms/public/orders/*.csv.gz')",
            "NOT_SUPPORTED",
        ),
        (
            "select count(*) from (select * from read_parquet(['{path}/x.parquet']))",
            "NOT_SUPPORTED",
        ),
        ("select getenv('HOME')", "FUNCTION_NOT_FOUND"),
        ("select current_setting('enable_external_access')", "FUNCTION_NOT_FOUND"),
        ("select * from information_schema.tables", "SCHEMA_NOT_FOUND"),
        ("select * from memory.silver.orders", "CATALOG_NOT_FOUND"),
        ("select * from system.information_schema.columns", "CATALOG_NOT_FOUND"),
        ("select * from duckdb_tables()", "NOT_SUPPORTED"),
        ("attach '{path}/x.db' as other", "SYNTAX_ERROR"),
        ("set enable_external_access = true", "NOT_SUPPORTED"),
        ("pragma enable_external_access", "NOT_SUPPORTED"),
        ("copy silver.orders to '/tmp/x.csv'", "NOT_SUPPORTED"),
        ("install httpfs", "NOT_SUPPORTED"),
        ("load httpfs", "NOT_SUPPORTED"),
        ("select 1; /* ; */ attach '{path}/x.db'", "SYNTAX_ERROR"),
        ("select 1 -- harmless\n; create view silver.orders2 as select 1 as a", "NOT_SUPPORTED"),
        (
            "select * from \"silver\".\"orders\" where tenant_id = '' or ''=''; "
            "select * from read_parquet('{path}/*.parquet')",
            "NOT_SUPPORTED",
        ),
    ],
)
def test_ways_out_are_refused(athena_lake: Lake, template: str, code: str) -> None:
    sql = template.format(path=_other_partition(athena_lake))
    with pytest.raises(AthenaQueryError) as info:
        scoped(athena_lake, sql)
    assert info.value.code == code, str(info.value)


def test_duckdb_itself_is_locked_down_behind_the_check(athena_lake: Lake) -> None:
    """Second wall: even SQL that skips the sqlglot check cannot leave the tenant's folders."""
    other = _other_partition(athena_lake)
    own = (
        Path(athena_lake.settings.silver_uri)
        / "orders"
        / (f"tenant_id={athena_lake.tenant_ids['acme']}")
    )
    with AthenaEngine(athena_lake.settings, tenant="acme", save_results=False) as engine:
        engine.execute("select count(*) from silver.orders")
        con = engine._con
        for attack in (
            f"select * from system.main.read_parquet('{other}/*.parquet')",
            f"select * from system.main.read_parquet('{own}/../tenant_id="
            f"{athena_lake.tenant_ids['globex']}/*.parquet')",
            f"select * from system.main.read_parquet("
            f"'{Path(athena_lake.settings.silver_uri)}/**/*.parquet')",
            f"select * from system.main.read_parquet('{own}/*.parquet')",
            f"attach '{other}/evil.db' as evil",
            f"copy (select 1) to '{own}/../evil.csv'",
        ):
            with pytest.raises(duckdb.PermissionException):
                con.execute(attack)
        for attack in (
            "set enable_external_access = true",
            "reset allowed_directories",
            "set lock_configuration = false",
        ):
            with pytest.raises(duckdb.InvalidInputException):
                con.execute(attack)
        # A later call reads other tables in a new session, still only the tenant's rows.
        (result,) = engine.execute("select distinct tenant_id from silver.customers")
        assert result.rows == [(athena_lake.tenant_ids["acme"],)]


def test_unknown_tenant_is_a_clear_error(athena_lake: Lake) -> None:
    with pytest.raises(LakehouseError, match="no tenant with slug or id 'nobody'"):
        AthenaEngine(athena_lake.settings, tenant="nobody", save_results=False)

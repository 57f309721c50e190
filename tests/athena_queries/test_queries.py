"""Every query file in athena-queries/ runs; business answers equal PostgreSQL's, row for row."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.athena.engine import AthenaEngine, QueryResult
from lakehouse.catalog.crawler import crawl
from lakehouse.config import Settings
from lakehouse.paths import ATHENA_QUERIES_DIR
from tests.support.lake import Lake
from tests.support.oracle import BUSINESS, assert_same_rows, gold_answer, pg_rows

QUERY_FILES = sorted(p for p in ATHENA_QUERIES_DIR.rglob("*.sql") if p.parent.name != "ddl")


def run_file(lake: Lake, path: Path) -> list[QueryResult]:
    with AthenaEngine(lake.settings, save_results=False) as engine:
        return engine.execute(path.read_text(encoding="utf-8"))


def test_the_query_files_exist() -> None:
    names = {p.relative_to(ATHENA_QUERIES_DIR).as_posix() for p in QUERY_FILES}
    assert {
        "exploration/01-bronze-exploration.sql",
        "exploration/02-silver-exploration.sql",
        "exploration/03-gold-exploration.sql",
        "business/tenant_performance_dashboard.sql",
        "business/revenue_trends.sql",
        "business/customer_acquisition.sql",
        "business/cohort_retention.sql",
        "business/conversion_funnel.sql",
        "business/product_performance.sql",
        "quality/data_quality_checks.sql",
    } <= names


@pytest.mark.parametrize(
    "path", QUERY_FILES, ids=[p.relative_to(ATHENA_QUERIES_DIR).as_posix() for p in QUERY_FILES]
)
def test_every_query_file_runs_and_returns_rows(athena_lake: Lake, path: Path) -> None:
    results = run_file(athena_lake, path)
    statements = [s for s in path.read_text(encoding="utf-8").split(";") if "select" in s]
    assert len(results) == len(statements)
    for result in results:
        assert result.rows, f"{path.name}: a statement returned no rows:\n{result.query}"


@pytest.mark.parametrize("name", sorted(BUSINESS))
def test_business_query_equals_postgresql(athena_lake: Lake, name: str) -> None:
    (result,) = run_file(athena_lake, ATHENA_QUERIES_DIR / "business" / name)
    expected = pg_rows(athena_lake.dsn, BUSINESS[name])
    assert expected, "the test lake must give every business query something to answer"
    assert_same_rows(result.rows, expected)


def test_bronze_exploration_keeps_null_apart_from_empty(athena_lake: Lake) -> None:
    results = run_file(
        athena_lake, ATHENA_QUERIES_DIR / "exploration" / "01-bronze-exploration.sql"
    )
    counts, _latest, nulls = results
    expected_counts = pg_rows(
        athena_lake.dsn,
        """
        select table_name, n, 0, 0, n from (
            select 'customers' table_name, count(*) n from customers
            union all select 'events', count(*) from events
            union all select 'invoices', count(*) from invoices
            union all select 'order_items', count(*) from order_items
            union all select 'orders', count(*) from orders
            union all select 'products', count(*) from products
            union all select 'subscriptions', count(*) from subscriptions
            union all select 'tenants', count(*) from tenants) x
        order by 1
        """,
    )
    assert_same_rows(counts.rows, expected_counts)
    expected_nulls = pg_rows(
        athena_lake.dsn,
        """
        select count(*) filter (where company is null), count(*) filter (where company = ''),
               count(*) filter (where phone is null), count(*) filter (where phone = ''),
               count(*) filter (where notes is null), count(*) filter (where notes = ''),
               count(*)
        from customers
        """,
    )
    assert_same_rows(nulls.rows, expected_nulls)
    # The fixture does hold both kinds, so the equality above is meaningful.
    assert nulls.rows[0][0] > 0
    assert nulls.rows[0][1] > 0


def test_silver_exploration_money_is_exact(athena_lake: Lake) -> None:
    results = run_file(
        athena_lake, ATHENA_QUERIES_DIR / "exploration" / "02-silver-exploration.sql"
    )
    expected = pg_rows(
        athena_lake.dsn,
        "select status, count(*), sum(total) from orders group by status order by status",
    )
    assert_same_rows(results[1].rows, expected)


def test_gold_exploration_reads_the_marts(athena_lake: Lake) -> None:
    results = run_file(athena_lake, ATHENA_QUERIES_DIR / "exploration" / "03-gold-exploration.sql")
    expected = pg_rows(
        athena_lake.dsn,
        f"""
        select tenant_name, plan, paid_orders, gross_revenue, refunds, net_revenue
        from {gold_answer("tenant_summary")} as s
        order by net_revenue desc, tenant_name
        """,
    )
    got = [(r[0], r[1], r[5], r[6], r[7], r[8]) for r in results[0].rows]
    assert_same_rows(got, expected)
    monthly = pg_rows(
        athena_lake.dsn,
        f"""
        select revenue_month, sum(orders_paid), sum(gross_revenue)
        from {gold_answer("revenue_monthly")} as m group by 1 order by 1
        """,
    )
    assert [(r[0], r[1], r[2]) for r in results[1].rows] == monthly


def test_quality_checks_pass_on_a_clean_lake(athena_lake: Lake) -> None:
    checks, freshness = run_file(
        athena_lake, ATHENA_QUERIES_DIR / "quality" / "data_quality_checks.sql"
    )
    assert len(checks.rows) == 10
    assert {r[0]: r[2] for r in checks.rows} == {r[0]: 0 for r in checks.rows}
    assert [r[0] for r in freshness.rows] == sorted(
        [
            "tenants",
            "customers",
            "products",
            "orders",
            "order_items",
            "subscriptions",
            "invoices",
            "events",
        ]
    )


def _declared_rules(settings: Settings) -> dict[tuple[str, str, str], int]:
    with AthenaEngine(settings, save_results=False) as engine:
        (result,) = engine.execute(
            (ATHENA_QUERIES_DIR / "quality" / "declared_rules.sql").read_text(encoding="utf-8")
        )
    return {(r[0], r[1], r[2]): r[3] for r in result.rows}


def test_declared_rules_find_exactly_the_planted_bad_rows(
    athena_lake: Lake, tmp_path: Path
) -> None:
    clean = _declared_rules(athena_lake.settings)
    assert len(clean) > 100
    assert set(clean.values()) == {0}
    lake = tmp_path / "lake"
    shutil.copytree(athena_lake.settings.lake_uri, lake)
    settings = Settings(lake=str(lake), _env_file=None)  # type: ignore[call-arg]
    folder = Path(settings.silver_uri) / "orders" / f"tenant_id={athena_lake.tenant_ids['acme']}"
    existing = pq.read_table(next(folder.glob("*.parquet")))
    duplicate = existing.slice(0, 1)
    bad = existing.slice(1, 1).to_pylist()[0]
    bad.update(
        id="99999999-9999-4999-8999-999999999999",
        status="lost",
        customer_id="88888888-8888-4888-8888-888888888888",
        total=Decimal("-1.00"),
    )
    planted = pa.concat_tables([duplicate, pa.Table.from_pylist([bad], schema=existing.schema)])
    pq.write_table(planted, folder / "part-99999-planted.snappy.parquet")
    crawl(settings)
    found = {k: v for k, v in _declared_rules(settings).items() if v}
    assert found == {
        ("orders", "unique", "id"): 1,
        ("orders", "accepted_values", "status"): 1,
        ("orders", "non_negative", "total"): 1,
        ("orders", "references_customers", "customer_id"): 1,
    }

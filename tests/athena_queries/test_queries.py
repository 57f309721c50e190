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
from tests.athena_queries.compare import assert_same_rows, gold_answer, pg_rows
from tests.athena_queries.lake import AthenaLake

QUERY_FILES = sorted(p for p in ATHENA_QUERIES_DIR.rglob("*.sql") if p.parent.name != "ddl")


def run_file(lake: AthenaLake, path: Path) -> list[QueryResult]:
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
def test_every_query_file_runs_and_returns_rows(athena_lake: AthenaLake, path: Path) -> None:
    results = run_file(athena_lake, path)
    statements = [s for s in path.read_text(encoding="utf-8").split(";") if "select" in s]
    assert len(results) == len(statements)
    for result in results:
        assert result.rows, f"{path.name}: a statement returned no rows:\n{result.query}"


# The same questions answered in PostgreSQL: every metric from the gold mart's PostgreSQL answer
# (compare.gold_answer: the Definitions of glue-scripts/README.md), only the slug from tenants.
DASHBOARD_PG = f"""
with ts as (select * from {gold_answer("tenant_summary")} as ts),
sm as (
    select distinct on (tenant_id)
           tenant_id, subscription_month, mrr, active_subscriptions, paying_customers
    from {gold_answer("subscription_metrics")} as sm
    order by tenant_id, subscription_month desc)
select rank() over (order by ts.net_revenue desc) as r, ts.tenant_name, t.slug, ts.plan,
       ts.is_active, ts.customers, ts.active_customers, ts.orders, ts.completed_orders,
       ts.paid_orders, ts.gross_revenue, ts.refunds, ts.net_revenue, ts.average_order_value,
       sm.subscription_month, coalesce(sm.mrr, 0), coalesce(sm.active_subscriptions, 0),
       coalesce(sm.paying_customers, 0), ts.events
from ts
join tenants t on t.id::text = ts.tenant_id
left join sm on sm.tenant_id = ts.tenant_id
order by r, t.slug
"""

REVENUE_TRENDS_PG = f"""
select t.slug, m.revenue_month, m.orders_paid, m.gross_revenue, m.refunds, m.net_revenue,
       m.previous_net_revenue, m.net_revenue_growth
from {gold_answer("revenue_monthly")} as m
join tenants t on t.id::text = m.tenant_id
order by 1, 2
"""

ACQUISITION_PG = f"""
select t.slug, m.signup_month, m.new_customers, m.previous_month_new_customers,
       m.new_customers_growth, m.cumulative_customers
from {gold_answer("customer_acquisition")} as m
join tenants t on t.id::text = m.tenant_id
order by 1, 2
"""

COHORT_PG = f"""
select t.slug, m.cohort_month, m.months_since_signup, m.activity_month, m.cohort_customers,
       m.retained_customers, m.retention_rate
from {gold_answer("cohort_retention")} as m
join tenants t on t.id::text = m.tenant_id
order by 1, 2, 3
"""

FUNNEL_PG = f"""
select t.slug, m.event_date, m.product_viewers, m.cart_adders, m.checkout_starters,
       m.purchasers, m.view_to_cart_rate, m.cart_to_checkout_rate,
       m.checkout_to_purchase_rate, m.view_to_purchase_rate
from {gold_answer("event_funnel")} as m
join tenants t on t.id::text = m.tenant_id
order by 1, 2
"""

PRODUCT_PG = f"""
select t.slug,
       row_number() over (partition by m.tenant_id order by m.net_revenue desc, m.sku) as rk,
       m.sku, m.product_name, m.category, m.units_sold, m.units_refunded, m.orders,
       m.gross_revenue, m.refunds, m.net_revenue, m.cost_of_goods, m.gross_margin
from {gold_answer("product_performance")} as m
join tenants t on t.id::text = m.tenant_id
order by 1, 2
"""

BUSINESS = {
    "tenant_performance_dashboard.sql": DASHBOARD_PG,
    "revenue_trends.sql": REVENUE_TRENDS_PG,
    "customer_acquisition.sql": ACQUISITION_PG,
    "cohort_retention.sql": COHORT_PG,
    "conversion_funnel.sql": FUNNEL_PG,
    "product_performance.sql": PRODUCT_PG,
}


@pytest.mark.parametrize("name", sorted(BUSINESS))
def test_business_query_equals_postgresql(athena_lake: AthenaLake, name: str) -> None:
    (result,) = run_file(athena_lake, ATHENA_QUERIES_DIR / "business" / name)
    expected = pg_rows(athena_lake.dsn, BUSINESS[name])
    assert expected, "the test lake must give every business query something to answer"
    assert_same_rows(result.rows, expected)


def test_bronze_exploration_keeps_null_apart_from_empty(athena_lake: AthenaLake) -> None:
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


def test_silver_exploration_money_is_exact(athena_lake: AthenaLake) -> None:
    results = run_file(
        athena_lake, ATHENA_QUERIES_DIR / "exploration" / "02-silver-exploration.sql"
    )
    expected = pg_rows(
        athena_lake.dsn,
        "select status, count(*), sum(total) from orders group by status order by status",
    )
    assert_same_rows(results[1].rows, expected)


def test_gold_exploration_reads_the_marts(athena_lake: AthenaLake) -> None:
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


def test_quality_checks_pass_on_a_clean_lake(athena_lake: AthenaLake) -> None:
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
    athena_lake: AthenaLake, tmp_path: Path
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

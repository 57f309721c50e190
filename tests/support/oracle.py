"""The independent oracle: each gold mart answered in PostgreSQL, and row comparisons.

``gold_sql/<mart>.sql`` answers each gold mart directly in PostgreSQL, following
glue-scripts/README.md "Definitions". The gold tests compare the gold jobs with it, the Athena
tests build their answers on it, and the analytics tests restrict it to a tenant, so no metric
is defined a second time in the tests.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from lakehouse_glue.gold.marts import mart

GOLD_SQL_DIR = Path(__file__).resolve().parent / "gold_sql"


def gold_answer(mart: str) -> str:
    """The PostgreSQL answer of a gold mart as a parenthesised subquery (columns of gold.json)."""
    text = (GOLD_SQL_DIR / f"{mart}.sql").read_text(encoding="utf-8").strip().rstrip(";")
    return f"(\n{text}\n)"


def postgres_answer(dsn: str, mart_name: str) -> list[tuple[Any, ...]]:
    """Run ``gold_sql/<mart>.sql`` and check it names exactly the declared columns, in order."""
    text = (GOLD_SQL_DIR / f"{mart_name}.sql").read_text(encoding="utf-8")
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(text)
        assert cur.description is not None
        names = [d.name for d in cur.description]
        rows = cur.fetchall()
    assert names == mart(mart_name).column_names, f"{mart_name}.sql columns drift from gold.json"
    return rows


def _instant(value: Any) -> Any:
    # PostgreSQL hands back aware datetimes, Spark naive local ones: compare instants in UTC.
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


def normalise(rows: Iterable[Sequence[Any]]) -> Counter[tuple[Any, ...]]:
    """Rows as a multiset; Decimal('1.50') == Decimal('1.5') and hash alike, ints too."""
    return Counter(tuple(_instant(v) for v in row) for row in rows)


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


# The business queries of athena-queries/business answered in PostgreSQL: every metric from the
# gold mart's PostgreSQL answer (gold_answer), only the slug from tenants.
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

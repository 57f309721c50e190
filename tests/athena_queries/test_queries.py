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
from tests.athena_queries.compare import assert_same_rows, pg_rows
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


DASHBOARD_PG = """
with c as (select tenant_id, count(*) n, count(*) filter (where status = 'active') a
           from customers group by 1),
     o as (select tenant_id, count(*) n, count(*) filter (where paid_at is not null) paid,
                  coalesce(sum(total) filter (where paid_at is not null), 0) gross,
                  coalesce(sum(total) filter (where status = 'refunded'), 0) refunds
           from orders group by 1),
     s as (select tenant_id, count(*) filter (where status = 'active') subs,
                  coalesce(sum(monthly_amount) filter (where status = 'active'), 0) mrr
           from subscriptions group by 1),
     e as (select tenant_id, count(*) n, count(distinct customer_id) engaged
           from events group by 1)
select rank() over (order by coalesce(o.gross, 0) - coalesce(o.refunds, 0) desc) as r,
       t.name, t.slug, t.plan, t.is_active, coalesce(c.n, 0), coalesce(c.a, 0),
       coalesce(o.n, 0), coalesce(o.paid, 0), coalesce(o.gross, 0), coalesce(o.refunds, 0),
       coalesce(o.gross, 0) - coalesce(o.refunds, 0),
       case when o.paid > 0 then round(o.gross / o.paid, 2)::float8 end,
       coalesce(s.subs, 0), coalesce(s.mrr, 0), coalesce(e.n, 0), coalesce(e.engaged, 0)
from tenants t
left join c on c.tenant_id = t.id left join o on o.tenant_id = t.id
left join s on s.tenant_id = t.id left join e on e.tenant_id = t.id
order by r, t.slug
"""

REVENUE_TRENDS_PG = """
with m as (
    select tenant_id, date_trunc('month', paid_at)::date mth, total g, 0::numeric r, 1 p
    from orders where paid_at is not null
    union all
    select tenant_id, date_trunc('month', refunded_at)::date, 0, total, 0
    from orders where status = 'refunded' and refunded_at is not null),
g as (select tenant_id, mth, sum(p)::bigint p, sum(g) g, sum(r) r, sum(g) - sum(r) net
      from m group by 1, 2),
w as (select g.*, lag(net) over (partition by tenant_id order by mth) prev from g)
select t.slug, w.mth, w.p, w.g, w.r, w.net, w.prev,
       case when w.prev <> 0 then round(100 * (w.net - w.prev) / w.prev, 2)::float8 end
from w join tenants t on t.id = w.tenant_id
order by 1, 2
"""

ACQUISITION_PG = """
with m as (select tenant_id, date_trunc('month', created_at)::date mth, count(*) n,
                  count(*) filter (where is_marketing_opt_in) o
           from customers group by 1, 2)
select t.slug, m.mth, m.n, m.o,
       (sum(m.n) over (partition by m.tenant_id order by m.mth))::bigint
from m join tenants t on t.id = m.tenant_id
order by 1, 2
"""

COHORT_PG = """
with c as (select tenant_id, id, date_trunc('month', created_at)::date cm from customers),
sz as (select tenant_id, cm, count(*) n from c group by 1, 2),
om as (select distinct tenant_id, customer_id, date_trunc('month', placed_at)::date am
       from orders where status <> 'cancelled'),
a as (select c.tenant_id, c.cm, c.id,
             ((extract(year from om.am) * 12 + extract(month from om.am))
              - (extract(year from c.cm) * 12 + extract(month from c.cm)))::int ms
      from c join om on om.tenant_id = c.tenant_id and om.customer_id = c.id
      where om.am >= c.cm),
r as (select tenant_id, cm, ms, count(distinct id) k from a group by 1, 2, 3)
select t.slug, r.cm, r.ms, sz.n, r.k, round(r.k::numeric / sz.n, 4)::float8
from r join sz on sz.tenant_id = r.tenant_id and sz.cm = r.cm
join tenants t on t.id = r.tenant_id
order by 1, 2, 3
"""

FUNNEL_PG = """
with f as (
    select tenant_id,
           count(distinct customer_id) filter (where event_type = 'product_view') v,
           count(distinct customer_id) filter (where event_type = 'add_to_cart') a,
           count(distinct customer_id) filter (where event_type = 'checkout_started') c,
           count(distinct customer_id) filter (where event_type = 'purchase') p
    from events
    where customer_id is not null
      and event_type in ('product_view', 'add_to_cart', 'checkout_started', 'purchase')
    group by 1)
select t.slug, f.v, f.a, f.c, f.p,
       round(f.a::numeric / nullif(f.v, 0), 4)::float8,
       round(f.c::numeric / nullif(f.a, 0), 4)::float8,
       round(f.p::numeric / nullif(f.c, 0), 4)::float8
from f join tenants t on t.id = f.tenant_id
order by 1
"""

PRODUCT_PG = """
with so as (select tenant_id, id from orders where paid_at is not null and status <> 'refunded'),
ps as (select oi.tenant_id, oi.product_id, sum(oi.quantity)::bigint u,
              count(distinct oi.order_id) o, sum(oi.line_total) rev
       from order_items oi join so on so.tenant_id = oi.tenant_id and so.id = oi.order_id
       group by 1, 2)
select t.slug, row_number() over (partition by p.tenant_id order by ps.rev desc, p.sku) rk,
       p.sku, p.name, p.category, ps.u, ps.o, ps.rev, p.cost * ps.u, ps.rev - p.cost * ps.u
from ps join products p on p.tenant_id = ps.tenant_id and p.id = ps.product_id
join tenants t on t.id = p.tenant_id
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
        """
        with o as (select tenant_id, count(*) n, count(*) filter (where paid_at is not null) paid,
                          coalesce(sum(total) filter (where paid_at is not null), 0) gross,
                          coalesce(sum(total) filter (where status = 'refunded'), 0) refunds
                   from orders group by 1)
        select t.name, t.plan, o.paid, o.gross, o.refunds, o.gross - o.refunds
        from tenants t join o on o.tenant_id = t.id
        order by o.gross - o.refunds desc, t.name
        """,
    )
    got = [(r[0], r[1], r[5], r[6], r[7], r[8]) for r in results[0].rows]
    assert_same_rows(got, expected)
    monthly = pg_rows(
        athena_lake.dsn,
        """
        select date_trunc('month', paid_at)::date, count(*), sum(total)
        from orders where paid_at is not null group by 1 order by 1
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

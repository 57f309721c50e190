"""Every number on every analytics page equals the same question answered in PostgreSQL.

The pages run through the tenant-scoped engine on the session's pipeline lake; PostgreSQL
answers with the gold tests' definitions SQL, restricted to the same tenant and dates.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from lakehouse.analytics.pages import (
    BadDateRangeError,
    PageNotFoundError,
    page,
    page_sql,
    parse_range,
)
from lakehouse.analytics.service import PageData, funnel_totals, run_page, tenant_engine
from lakehouse.athena.engines import QueryEngine
from lakehouse.athena.pool import SessionPool
from lakehouse.errors import LakehouseError
from tests.support.lake import Lake
from tests.support.oracle import normalise
from tests.support.page_oracle import (
    MART_OF_PAGE,
    expected_rows,
    tenant_summary,
    tenants_by_size,
)


@pytest.fixture(scope="module")
def largest(e2e_lake: Lake) -> tuple[str, str]:
    return tenants_by_size(e2e_lake.dsn)[0]


@pytest.fixture
def engine(e2e_lake: Lake, largest: tuple[str, str]) -> Iterator[QueryEngine]:
    """A new scoped engine per test, as the web app opens one per request (a tenant session
    is locked down to the tables of its first query)."""
    scoped = tenant_engine(e2e_lake.settings, largest[1])
    yield scoped
    scoped.close()


@pytest.mark.parametrize("slug", sorted(MART_OF_PAGE))
def test_page_equals_postgres_for_the_tenant(
    e2e_lake: Lake, engine: QueryEngine, largest: tuple[str, str], slug: str
) -> None:
    data = run_page(engine, page(slug))
    assert data.rows, f"{slug} has no rows for the largest tenant: the test would prove nothing"
    expected = expected_rows(e2e_lake.dsn, slug, largest[0], data.columns, (None, None))
    assert normalise(data.rows) == normalise(expected)


@pytest.mark.parametrize("slug", ["revenue", "subscriptions", "funnel"])
def test_a_date_range_keeps_exactly_its_days(
    e2e_lake: Lake, engine: QueryEngine, largest: tuple[str, str], slug: str
) -> None:
    p = page(slug)
    everything = run_page(engine, p)
    days = sorted(everything.column(str(p.date_column)))
    start, end = days[len(days) // 4], days[len(days) // 2]
    data = run_page(engine, p, start, end)
    assert 0 < len(data.rows) < len(everything.rows)
    assert all(start <= d <= end for d in data.column(str(p.date_column)))
    expected = expected_rows(e2e_lake.dsn, slug, largest[0], data.columns, (start, end))
    assert normalise(data.rows) == normalise(expected)


def test_overview_is_the_tenant_performance_dashboard_row(
    e2e_lake: Lake, engine: QueryEngine, largest: tuple[str, str]
) -> None:
    data = run_page(engine, page("overview"))
    assert len(data.rows) == 1
    record = dict(zip(data.columns, data.rows[0], strict=True))
    assert record["tenant_slug"] == largest[1]
    summary = tenant_summary(e2e_lake.dsn, largest[0])
    assert record["net_revenue"] == summary["net_revenue"]
    assert record["customers"] == summary["customers"]


def test_every_tenant_sees_only_its_own_numbers(e2e_lake: Lake) -> None:
    """The same page for three tenants, twice, through one pool of kept sessions: each answer
    equals PostgreSQL for that tenant alone, and the second round builds no session."""
    pool = SessionPool()
    for _ in range(2):
        for tenant_id, slug in tenants_by_size(e2e_lake.dsn)[:3]:
            scoped = tenant_engine(e2e_lake.settings, slug, pool)
            try:
                data = run_page(scoped, page("products"))
            finally:
                scoped.close()
            expected = expected_rows(
                e2e_lake.dsn, "products", tenant_id, data.columns, (None, None)
            )
            assert normalise(data.rows) == normalise(expected), slug
    assert pool.builds == 3


def test_charts_and_csv_carry_the_page_numbers(
    e2e_lake: Lake, engine: QueryEngine, largest: tuple[str, str]
) -> None:
    data = run_page(engine, page("funnel"))
    steps = ("product_viewers", "cart_adders", "checkout_starters", "purchasers")
    (funnel, rate) = data.figures()
    assert funnel["data"][0]["x"] == funnel_totals(data, steps)
    assert funnel["data"][0]["x"][0] >= funnel["data"][0]["x"][-1]
    assert len(rate["data"][0]["x"]) == len(data.rows)
    lines = data.csv().splitlines()
    assert lines[0] == ",".join(f'"{c}"' for c in data.columns)
    assert len(lines) == len(data.rows) + 1
    other = tenant_engine(e2e_lake.settings, largest[1])
    try:
        retention = run_page(other, page("retention")).figures()[0]["data"][0]
    finally:
        other.close()
    assert retention["type"] == "heatmap"
    assert len(retention["z"]) == len(retention["y"])


def test_bad_requests_are_refused_by_name(e2e_lake: Lake) -> None:
    with pytest.raises(PageNotFoundError):
        page("../../etc")
    with pytest.raises(BadDateRangeError, match="YYYY-MM-DD"):
        parse_range("2024-13-01", None)
    with pytest.raises(BadDateRangeError, match="after"):
        parse_range("2024-02-01", "2024-01-01")
    with pytest.raises(BadDateRangeError):
        parse_range("2024-01-01'; select 1 --", None)
    assert parse_range(" ", "2024-01-31") == (None, date(2024, 1, 31))
    with pytest.raises(LakehouseError, match="need a tenant"):
        tenant_engine(e2e_lake.settings, " ")
    # A page's SQL is only ever the file's text with literal dates around it.
    assert "date '2024-01-01'" in page_sql(page("revenue"), date(2024, 1, 1), None)


def test_page_data_text_rows_print_null_as_empty() -> None:
    data = PageData(page("revenue"), ("a", "b"), [(None, 1)], None, None)
    assert data.text_rows() == [["", "1"]]

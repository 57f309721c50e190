"""The analytics pages' questions answered in PostgreSQL: the independent oracle of the page,
view and browser tests (the gold tests' definitions SQL, restricted to one tenant and dates)."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
from lakehouse_glue.gold.marts import mart

from lakehouse.analytics.pages import page
from tests.support.oracle import postgres_answer

MART_OF_PAGE = {
    "revenue": "revenue_daily",
    "acquisition": "customer_acquisition",
    "retention": "cohort_retention",
    "funnel": "event_funnel",
    "products": "product_performance",
    "subscriptions": "subscription_metrics",
}


def tenants_by_size(dsn: str) -> list[tuple[str, str]]:
    """(id, slug) of every tenant, the one with most orders first."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select t.id::text, t.slug from tenants t order by "
            "(select count(*) from orders o where o.tenant_id = t.id) desc, t.id"
        ).fetchall()
    return [(str(i), str(s)) for i, s in rows]


def page_records(
    dsn: str,
    page_slug: str,
    tenant_id: str,
    dates: tuple[date | None, date | None] = (None, None),
) -> list[dict[str, Any]]:
    """The rows of ``page_slug`` for one tenant as PostgreSQL answers them, by column name."""
    name = MART_OF_PAGE[page_slug]
    names = mart(name).column_names
    p = page(page_slug)
    out = []
    for row in postgres_answer(dsn, name):
        record = dict(zip(names, row, strict=True))
        if record["tenant_id"] != tenant_id:
            continue
        if p.date_column is not None:
            day = record[p.date_column]
            if (dates[0] and day < dates[0]) or (dates[1] and day > dates[1]):
                continue
        out.append(record)
    return out


def expected_rows(
    dsn: str,
    page_slug: str,
    tenant_id: str,
    columns: tuple[str, ...],
    dates: tuple[date | None, date | None] = (None, None),
) -> list[tuple[Any, ...]]:
    """:func:`page_records` as tuples of ``columns`` (a page's result columns)."""
    return [tuple(r[c] for c in columns) for r in page_records(dsn, page_slug, tenant_id, dates)]


def tenant_summary(dsn: str, tenant_id: str) -> dict[str, Any]:
    """The tenant's ``tenant_summary`` row (the overview page's numbers) from PostgreSQL."""
    names = mart("tenant_summary").column_names
    (summary,) = [
        dict(zip(names, r, strict=True))
        for r in postgres_answer(dsn, "tenant_summary")
        if str(r[0]) == tenant_id
    ]
    return summary

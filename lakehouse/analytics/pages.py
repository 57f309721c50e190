"""The tenant analytics pages: which gold SQL each page runs and how its charts show it.

Every page is one Athena SQL file in ``athena-queries/dashboards/`` (the overview reuses the
business query ``tenant_performance_dashboard.sql``), run through the analytics engine with the
tenant's scope, so a page can only ever hold the signed-in tenant's rows. A page with a date
column is filtered to the chosen range by wrapping its SQL; the dates are parsed from the
request first and written as date literals, never pasted as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache

from lakehouse.errors import LakehouseError
from lakehouse.paths import ATHENA_QUERIES_DIR


@dataclass(frozen=True)
class Chart:
    """One chart of a page.

    Args:
        kind: ``line``, ``bar``, ``heatmap`` (``x`` by ``y`` coloured by ``z``) or ``funnel``
            (the ``y`` columns summed over the rows, one bar per step).
        title: Shown above the chart.
        x: The column on the horizontal axis.
        y: The columns drawn (one trace each), or the heatmap's vertical axis.
        z: The heatmap's values.
        limit: Only the first ``limit`` rows (a top list).
    """

    kind: str
    title: str
    x: str
    y: tuple[str, ...]
    z: str | None = None
    limit: int | None = None


@dataclass(frozen=True)
class Page:
    """One analytics page."""

    slug: str
    title: str
    description: str
    sql_file: str
    date_column: str | None
    charts: tuple[Chart, ...] = field(default=())

    @property
    def sql(self) -> str:
        return _read(self.sql_file)


@cache
def _read(relative: str) -> str:
    return (ATHENA_QUERIES_DIR / relative).read_text(encoding="utf-8")


PAGES: tuple[Page, ...] = (
    Page(
        slug="overview",
        title="Overview",
        description="Customers, orders, revenue, recurring revenue and events of the tenant.",
        sql_file="business/tenant_performance_dashboard.sql",
        date_column=None,
    ),
    Page(
        slug="revenue",
        title="Revenue",
        description="Gross revenue, refunds and net revenue by day (each by its own date).",
        sql_file="dashboards/revenue.sql",
        date_column="revenue_date",
        charts=(
            Chart("line", "Revenue per day", "revenue_date", ("gross_revenue", "net_revenue")),
            Chart("bar", "Orders per day", "revenue_date", ("orders_placed", "orders_paid")),
        ),
    ),
    Page(
        slug="acquisition",
        title="Customer acquisition",
        description="New customers per signup month and the running total.",
        sql_file="dashboards/acquisition.sql",
        date_column="signup_month",
        charts=(
            Chart("bar", "New customers per month", "signup_month", ("new_customers",)),
            Chart("line", "Customers in total", "signup_month", ("cumulative_customers",)),
        ),
    ),
    Page(
        slug="retention",
        title="Cohort retention",
        description="Share of each signup cohort that was active N months after signing up.",
        sql_file="dashboards/retention.sql",
        date_column="cohort_month",
        charts=(
            Chart(
                "heatmap",
                "Retention by cohort",
                "months_since_signup",
                ("cohort_month",),
                z="retention_rate",
            ),
        ),
    ),
    Page(
        slug="funnel",
        title="Conversion funnel",
        description=(
            "Customers who viewed a product, added to cart, started checkout and purchased, per "
            "day; the funnel sums the days (customer-days)."
        ),
        sql_file="dashboards/funnel.sql",
        date_column="event_date",
        charts=(
            Chart(
                "funnel",
                "Funnel over the chosen days",
                "step",
                ("product_viewers", "cart_adders", "checkout_starters", "purchasers"),
            ),
            Chart("line", "View to purchase rate", "event_date", ("view_to_purchase_rate",)),
        ),
    ),
    Page(
        slug="products",
        title="Product performance",
        description="Units, revenue and margin per product over its whole history.",
        sql_file="dashboards/products.sql",
        date_column=None,
        charts=(Chart("bar", "Top products by net revenue", "sku", ("net_revenue",), limit=20),),
    ),
    Page(
        slug="subscriptions",
        title="Subscriptions",
        description="Monthly recurring revenue (MRR), its movements and churn.",
        sql_file="dashboards/subscriptions.sql",
        date_column="subscription_month",
        charts=(
            Chart("line", "MRR", "subscription_month", ("mrr",)),
            Chart(
                "bar",
                "MRR movements",
                "subscription_month",
                ("new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr"),
            ),
            Chart(
                "line",
                "Churn",
                "subscription_month",
                ("customer_churn_rate", "gross_mrr_churn_rate"),
            ),
        ),
    ),
)
PAGES_BY_SLUG = {p.slug: p for p in PAGES}


class PageNotFoundError(LakehouseError):
    """No page of that name (the web app answers 404)."""


class BadDateRangeError(LakehouseError):
    """The date range of a request cannot be used (the web app answers 400)."""


def page(slug: str) -> Page:
    """The page named ``slug``."""
    found = PAGES_BY_SLUG.get(slug)
    if found is None:
        raise PageNotFoundError("no such analytics page")
    return found


def parse_range(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    """The ``from``/``to`` request values as dates (blank means open)."""

    def one(value: str | None, name: str) -> date | None:
        if value is None or not value.strip():
            return None
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise BadDateRangeError(f"{name} must be a date as YYYY-MM-DD") from exc

    first, last = one(start, "from"), one(end, "to")
    if first is not None and last is not None and first > last:
        raise BadDateRangeError("from must not be after to")
    return first, last


def page_sql(p: Page, start: date | None = None, end: date | None = None) -> str:
    """The page's Athena SQL, restricted to ``start``..``end`` (inclusive) on its date column."""
    body = p.sql.strip().rstrip(";")
    conditions: list[str] = []
    if p.date_column is not None:
        if start is not None:
            conditions.append(f"page.{p.date_column} >= date '{start.isoformat()}'")
        if end is not None:
            conditions.append(f"page.{p.date_column} <= date '{end.isoformat()}'")
    if not conditions:
        return body
    order = f" order by page.{p.date_column}"
    return f"select * from (\n{body}\n) as page where {' and '.join(conditions)}{order}"

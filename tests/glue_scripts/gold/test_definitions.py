"""The tricky definitions, on tiny explicit DataFrames (see glue-scripts/README.md, Definitions)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from lakehouse_glue.gold import transforms
from lakehouse_glue.gold.io import gold_input_schema
from lakehouse_glue.model import load_declaration
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from tests.support.spark import assert_frames_equal

T1 = "00000000-0000-4000-8000-000000000001"
D = Decimal


def ts(text: str) -> datetime:
    """An instant in UTC from ``YYYY-MM-DD HH:MM:SS[.ffffff]``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def frame(spark: SparkSession, entity: str, rows: list[dict[str, Any]]) -> DataFrame:
    """A silver-shaped DataFrame of ``entity``; columns a row does not give are null."""
    columns = load_declaration().entity(entity).column_names
    if "tenant_id" not in columns:
        columns = [*columns, "tenant_id"]
    data = [tuple({"tenant_id": T1, **r}.get(c) for c in columns) for r in rows]
    return spark.createDataFrame(data, gold_input_schema(entity))


def order(
    n: int,
    total: str,
    placed: str,
    paid: str | None = None,
    refunded: str | None = None,
    cancelled: str | None = None,
) -> dict[str, Any]:
    return {
        "id": f"o{n}",
        "customer_id": f"c{n % 2}",
        "status": "refunded" if refunded else "cancelled" if cancelled else "paid",
        "total": D(total),
        "placed_at": ts(placed),
        "paid_at": ts(paid) if paid else None,
        "refunded_at": ts(refunded) if refunded else None,
        "cancelled_at": ts(cancelled) if cancelled else None,
    }


def test_growth_is_against_the_previous_calendar_month_even_when_it_is_empty(
    spark: SparkSession,
) -> None:
    orders = frame(
        spark,
        "orders",
        [
            order(1, "100.00", "2025-01-10 10:00:00", paid="2025-01-10 10:05:00"),
            # February: nothing at all. March: half of January.
            order(2, "50.00", "2025-03-02 09:00:00", paid="2025-03-02 09:00:01"),
            order(3, "75.00", "2025-04-01 00:00:00", paid="2025-04-01 00:00:00"),
        ],
    )
    got = transforms.revenue_monthly(orders).select(
        "revenue_month", "net_revenue", "previous_net_revenue", "net_revenue_growth"
    )
    expected = [
        Row(date(2025, 1, 1), D("100.00"), None, None),
        Row(date(2025, 2, 1), D("0.00"), D("100.00"), D("-1.0000")),
        Row(date(2025, 3, 1), D("50.00"), D("0.00"), None),  # growth from nothing: null
        Row(date(2025, 4, 1), D("75.00"), D("50.00"), D("0.5000")),
    ]
    assert_frames_equal(got, spark.createDataFrame(expected, got.schema))


def test_refund_lands_in_the_month_it_happened_and_cancel_before_payment_is_nothing(
    spark: SparkSession,
) -> None:
    orders = frame(
        spark,
        "orders",
        [
            # Paid in the last microsecond of January, refunded in the first one of February.
            order(
                1,
                "100.00",
                "2025-01-31 23:00:00",
                paid="2025-01-31 23:59:59.999999",
                refunded="2025-02-01 00:00:00",
            ),
            # Paid in February, cancelled after payment in March: a March refund.
            order(
                2,
                "19.99",
                "2025-02-03 08:00:00",
                paid="2025-02-03 08:00:00",
                cancelled="2025-03-09 12:00:00",
            ),
            # Cancelled before payment: neither revenue nor refund.
            order(3, "500.00", "2025-02-04 08:00:00", cancelled="2025-02-04 09:00:00"),
        ],
    )
    monthly = transforms.revenue_monthly(orders).select(
        "revenue_month",
        "orders_placed",
        "orders_paid",
        "orders_refunded",
        "gross_revenue",
        "refunds",
        "net_revenue",
        "net_revenue_growth",
    )
    expected = [
        Row(date(2025, 1, 1), 1, 1, 0, D("100.00"), D("0.00"), D("100.00"), None),
        Row(date(2025, 2, 1), 2, 1, 1, D("19.99"), D("100.00"), D("-80.01"), D("-1.8001")),
        Row(date(2025, 3, 1), 0, 0, 1, D("0.00"), D("19.99"), D("-19.99"), None),
    ]
    assert_frames_equal(monthly, spark.createDataFrame(expected, monthly.schema))
    daily = (
        transforms.revenue_daily(orders)
        .where(F.col("refunds") > 0)
        .select("revenue_date", "refunds")
    )
    assert_frames_equal(
        daily,
        spark.createDataFrame(
            [Row(date(2025, 2, 1), D("100.00")), Row(date(2025, 3, 9), D("19.99"))], daily.schema
        ),
    )


def subscription(
    n: int, customer: str, amount: str, started: str, **stamps: str | None
) -> dict[str, Any]:
    return {
        "id": f"s{n}",
        "customer_id": customer,
        "monthly_amount": D(amount),
        "started_at": ts(started),
        **{k: ts(v) if v else None for k, v in stamps.items()},
    }


def test_mrr_movements_and_churn(spark: SparkSession) -> None:
    subs = frame(
        spark,
        "subscriptions",
        [
            # a: 10.00 from January, cancelled mid-March -> churned in March.
            subscription(
                1, "a", "10.00", "2025-01-05 00:00:00", cancelled_at="2025-03-15 10:00:00"
            ),
            # b: 20.00 from January, a second 30.00 from February (expansion) that is
            # cancelled in March (contraction).
            subscription(2, "b", "20.00", "2025-01-20 00:00:00"),
            subscription(
                3, "b", "30.00", "2025-02-01 00:00:00", cancelled_at="2025-03-31 23:59:59"
            ),
            # c: cancelled during the trial: never revenue.
            subscription(
                4,
                "c",
                "99.00",
                "2025-01-20 00:00:00",
                trial_ends_at="2025-02-03 00:00:00",
                cancelled_at="2025-01-25 00:00:00",
            ),
            # d: trial ends exactly at the end of February: pays from March (new in March).
            subscription(
                5, "d", "5.00", "2025-02-14 00:00:00", trial_ends_at="2025-03-01 00:00:00"
            ),
        ],
    )
    got = transforms.subscription_metrics(subs).select(
        "subscription_month",
        "mrr",
        "previous_mrr",
        "paying_customers",
        "active_subscriptions",
        "new_mrr",
        "expansion_mrr",
        "contraction_mrr",
        "churned_mrr",
        "net_new_mrr",
        "new_customers",
        "churned_customers",
        "customer_churn_rate",
        "gross_mrr_churn_rate",
    )
    z = D("0.00")
    expected = [
        Row(
            date(2025, 1, 1), D("30.00"), z, 2, 2, D("30.00"), z, z, z, D("30.00"), 2, 0, None, None
        ),
        Row(
            date(2025, 2, 1),
            D("60.00"),
            D("30.00"),
            2,
            3,
            z,
            D("30.00"),
            z,
            z,
            D("30.00"),
            0,
            0,
            D("0.0000"),
            D("0.0000"),
        ),
        Row(
            date(2025, 3, 1),
            D("25.00"),
            D("60.00"),
            2,
            2,
            D("5.00"),
            z,
            D("30.00"),
            D("10.00"),
            D("-35.00"),
            1,
            1,
            D("0.5000"),
            D("0.6667"),
        ),
    ]
    assert_frames_equal(got, spark.createDataFrame(expected, got.schema))


@pytest.mark.parametrize(
    ("r", "f", "m", "segment"),
    [
        (None, None, None, "no_purchases"),
        (4, 4, 4, "champions"),
        (5, 5, 3, "loyal"),
        (3, 3, 1, "loyal"),
        (4, 2, 5, "new"),
        (5, 1, 1, "new"),
        (2, 3, 5, "at_risk"),
        (1, 5, 5, "at_risk"),
        (2, 2, 5, "hibernating"),
        (3, 2, 5, "needs_attention"),
        (3, 1, 1, "needs_attention"),
    ],
)
def test_rfm_segment_boundaries(
    spark: SparkSession, r: int | None, f: int | None, m: int | None, segment: str
) -> None:
    df = spark.createDataFrame([(r, f, m)], "r int, f int, m int")
    got = df.select(transforms.rfm_segment(F.col("r"), F.col("f"), F.col("m")).alias("s"))
    assert got.first() == Row(s=segment)


def test_rfm_scores_are_ceil_5k_over_n_with_ties_sharing(spark: SparkSession) -> None:
    customers = frame(
        spark,
        "customers",
        [{"id": f"c{i}", "created_at": ts("2025-01-01 00:00:00")} for i in range(8)],
    )
    # c0..c5 pay; c6, c7 never do. Frequencies 1,1,2,3,4,6; last orders spread over days.
    plan = {"c0": [1], "c1": [2], "c2": [3, 3], "c3": [4, 4, 4], "c4": [5] * 4, "c5": [5] * 6}
    rows = []
    for cust, days in plan.items():
        for j, day in enumerate(days):
            rows.append(
                {
                    "id": f"{cust}-{j}",
                    "customer_id": cust,
                    "status": "paid",
                    "total": D("10.00"),
                    "placed_at": ts(f"2025-03-0{day} 12:00:00"),
                    "paid_at": ts(f"2025-03-0{day} 12:00:00"),
                }
            )
    rows.append(  # an unpaid order keeps c6 at no_purchases
        {
            "id": "c6-0",
            "customer_id": "c6",
            "status": "pending",
            "total": D("1.00"),
            "placed_at": ts("2025-03-05 00:00:00"),
        }
    )
    got = transforms.customer_ltv(customers, frame(spark, "orders", rows)).select(
        "customer_id",
        "orders",
        "lifetime_value",
        "as_of_date",
        "recency_days",
        "recency_score",
        "frequency_score",
        "monetary_score",
        "rfm_segment",
    )
    # n = 6 payers. Frequency k: c0,c1 tie at 2 -> ceil(10/6)=2; c2 k=3 -> 3; c3 k=4 -> 4;
    # c4 k=5 -> 5; c5 k=6 -> 5. Recency (days) 4,3,2,1,0,0: k counts those with >= days.
    as_of = date(2025, 3, 5)
    expected = [
        Row("c0", 1, D("10.00"), as_of, 4, 1, 2, 2, "hibernating"),
        Row("c1", 1, D("10.00"), as_of, 3, 2, 2, 2, "hibernating"),
        Row("c2", 2, D("20.00"), as_of, 2, 3, 3, 3, "loyal"),
        Row("c3", 3, D("30.00"), as_of, 1, 4, 4, 4, "champions"),
        Row("c4", 4, D("40.00"), as_of, 0, 5, 5, 5, "champions"),
        Row("c5", 6, D("60.00"), as_of, 0, 5, 5, 5, "champions"),
        Row("c6", 0, D("0.00"), as_of, None, None, None, None, "no_purchases"),
        Row("c7", 0, D("0.00"), as_of, None, None, None, None, "no_purchases"),
    ]
    assert_frames_equal(got, spark.createDataFrame(expected, got.schema))

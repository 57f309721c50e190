"""Revenue by day and by month, from orders paid and refunded."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue.gold.transforms.common import (
    fill_months,
    growth,
    is_paid,
    is_refunded,
    money,
    previous,
    refund_time,
    utc_month,
)
from lakehouse_glue.model import TENANT_COLUMN as T


def _order_movements(orders: DataFrame, period: str, bucket: str) -> DataFrame:
    """Orders placed, paid and refunded, and money, per tenant and day or month.

    ``bucket`` is ``"day"`` or ``"month"``; each order contributes up to three movements, each
    dated by its own timestamp, so a refund lands in the period it happened, not the sale's.
    """

    def when(ts: str | Column) -> Column:
        return F.to_date(ts) if bucket == "day" else utc_month(ts)

    def movement(
        at: Column, placed: int, paid: int, refunded: int, gross: Column, refund: Column
    ) -> Column:
        return F.struct(
            at.alias(period),
            F.lit(placed).alias("p"),
            F.lit(paid).alias("q"),
            F.lit(refunded).alias("r"),
            gross.cast("decimal(12,2)").alias("g"),
            refund.cast("decimal(12,2)").alias("f"),
        )

    zero, total = F.lit(0), F.col("total")
    # One scan of orders: each order explodes into its (up to three) movements.
    movements = (
        orders.select(
            T,
            F.explode(
                F.array(
                    movement(when("placed_at"), 1, 0, 0, zero, zero),
                    F.when(is_paid(), movement(when("paid_at"), 0, 1, 0, total, zero)),
                    F.when(is_refunded(), movement(when(refund_time()), 0, 0, 1, zero, total)),
                )
            ).alias("m"),
        )
        .where(F.col("m").isNotNull())
        .select(T, "m.*")
    )
    return movements.groupBy(T, period).agg(
        F.sum("p").cast("bigint").alias("orders_placed"),
        F.sum("q").cast("bigint").alias("orders_paid"),
        F.sum("r").cast("bigint").alias("orders_refunded"),
        money(F.sum("g")).alias("gross_revenue"),
        money(F.sum("f")).alias("refunds"),
    )


def revenue_daily(orders: DataFrame) -> DataFrame:
    """One row per tenant and UTC day with any order placed, paid or refunded."""
    daily = _order_movements(orders, "revenue_date", "day")
    return daily.select(
        T,
        "revenue_date",
        "orders_placed",
        "orders_paid",
        "orders_refunded",
        "gross_revenue",
        "refunds",
        money(F.col("gross_revenue") - F.col("refunds")).alias("net_revenue"),
    )


def revenue_monthly(orders: DataFrame) -> DataFrame:
    """One row per tenant and calendar month from its first to its last month with activity.

    The orders are shuffled once, by tenant: the monthly aggregation and the month series'
    windows (by tenant) then run where the rows already are.
    """
    monthly = _order_movements(orders.repartition(T), "revenue_month", "month")
    measures = ["orders_placed", "orders_paid", "orders_refunded", "gross_revenue", "refunds"]
    filled = (
        fill_months(monthly, "revenue_month", measures)
        .withColumn("net_revenue", money(F.col("gross_revenue") - F.col("refunds")))
        .withColumn("previous_net_revenue", previous("net_revenue", "revenue_month"))
    )
    return filled.select(
        T,
        "revenue_month",
        "orders_placed",
        "orders_paid",
        "orders_refunded",
        "gross_revenue",
        "refunds",
        "net_revenue",
        "previous_net_revenue",
        growth(F.col("net_revenue"), F.col("previous_net_revenue")).alias("net_revenue_growth"),
    )

"""The tenant summary: one row per tenant, its customers, orders, revenue and events."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue.gold.transforms.common import (
    MONEY,
    is_paid,
    is_refunded,
    money,
    ratio,
    zero_money,
)
from lakehouse_glue.model import TENANT_COLUMN as T


def tenant_summary(
    tenants: DataFrame, customers: DataFrame, orders: DataFrame, events: DataFrame
) -> DataFrame:
    """One row per tenant: customers, orders, revenue and events over the tenant's lifetime.

    The three activity tables are counted in ONE aggregation: each row becomes its counters
    (a customer counts as a customer, an order as an order, ...), the union is summed per
    tenant and joined once to the tenants: one shuffle instead of one per table and a join
    per table.
    """
    one, zero = F.lit(1), F.lit(0)
    no_money = F.lit(None).cast("decimal(12,2)")

    def counters(
        customers_: Column = zero,
        active: Column = zero,
        orders_: Column = zero,
        completed: Column = zero,
        paid: Column = zero,
        gross: Column = no_money,
        refunded: Column = no_money,
        events_: Column = zero,
    ) -> list[Column]:
        return [
            F.col(T),
            customers_.alias("_customers"),
            active.cast("int").alias("_active"),
            orders_.alias("_orders"),
            completed.cast("int").alias("_completed"),
            paid.cast("int").alias("_paid"),
            gross.cast("decimal(12,2)").alias("_gross"),
            refunded.cast("decimal(12,2)").alias("_refunds"),
            events_.alias("_events"),
        ]

    activity = (
        customers.select(
            *counters(customers_=one, active=F.coalesce(F.col("status") == "active", F.lit(False)))
        )
        .unionAll(
            orders.select(
                *counters(
                    orders_=one,
                    completed=F.coalesce(F.col("status") == "completed", F.lit(False)),
                    paid=is_paid(),
                    gross=F.when(is_paid(), F.col("total")),
                    refunded=F.when(is_refunded(), F.col("total")),
                )
            )
        )
        .unionAll(events.select(*counters(events_=one)))
    )
    counts = activity.groupBy(T).agg(
        F.sum("_customers").cast("bigint").alias("customers"),
        F.sum("_active").cast("bigint").alias("active_customers"),
        F.sum("_orders").cast("bigint").alias("orders"),
        F.sum("_completed").cast("bigint").alias("completed_orders"),
        F.sum("_paid").cast("bigint").alias("paid_orders"),
        money(F.sum("_gross")).alias("gross_revenue"),
        money(F.sum("_refunds")).alias("refunds"),
        F.sum("_events").cast("bigint").alias("events"),
    )
    joined = (
        tenants.select(T, F.col("name").alias("tenant_name"), "plan", "is_active")
        .join(counts, T, "left")
        .fillna(0, ["customers", "active_customers", "orders", "completed_orders"])
        .fillna(0, ["paid_orders", "events"])
        .withColumn("gross_revenue", F.coalesce("gross_revenue", zero_money()))
        .withColumn("refunds", F.coalesce("refunds", zero_money()))
    )
    return joined.select(
        T,
        "tenant_name",
        "plan",
        "is_active",
        "customers",
        "active_customers",
        "orders",
        "completed_orders",
        "paid_orders",
        "gross_revenue",
        "refunds",
        money(F.col("gross_revenue") - F.col("refunds")).alias("net_revenue"),
        ratio(F.col("gross_revenue"), F.col("paid_orders"), MONEY).alias("average_order_value"),
        "events",
    )

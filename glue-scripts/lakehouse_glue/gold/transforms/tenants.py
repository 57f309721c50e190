"""The tenant summary: one row per tenant, its customers, orders, revenue and events."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue.gold.transforms.common import (
    MONEY,
    count_if,
    is_paid,
    is_refunded,
    money,
    ratio,
    sum_money_if,
    zero_money,
)
from lakehouse_glue.model import TENANT_COLUMN as T


def tenant_summary(
    tenants: DataFrame, customers: DataFrame, orders: DataFrame, events: DataFrame
) -> DataFrame:
    """One row per tenant: customers, orders, revenue and events over the tenant's lifetime."""
    customer_counts = customers.groupBy(T).agg(
        F.count("*").alias("customers"),
        count_if(F.col("status") == "active").alias("active_customers"),
    )
    order_counts = orders.groupBy(T).agg(
        F.count("*").alias("orders"),
        count_if(F.col("status") == "completed").alias("completed_orders"),
        count_if(is_paid()).alias("paid_orders"),
        sum_money_if(is_paid(), "total").alias("gross_revenue"),
        sum_money_if(is_refunded(), "total").alias("refunds"),
    )
    event_counts = events.groupBy(T).agg(F.count("*").alias("events"))
    joined = (
        tenants.select(T, F.col("name").alias("tenant_name"), "plan", "is_active")
        .join(customer_counts, T, "left")
        .join(order_counts, T, "left")
        .join(event_counts, T, "left")
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

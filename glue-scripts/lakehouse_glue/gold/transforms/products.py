"""Product performance: units, orders, revenue, refunds and margin per product."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue.gold.transforms.common import (
    is_paid,
    is_refunded,
    money,
    sum_money_if,
    zero_money,
)
from lakehouse_glue.model import TENANT_COLUMN as T


def product_performance(
    products: DataFrame, order_items: DataFrame, orders: DataFrame
) -> DataFrame:
    """One row per product: what its items on paid orders sold, refunded and earned.

    Each input is shuffled once, by tenant: the joins (by tenant and more) and the per
    product aggregation, distinct orders included, then run where the rows already are.
    """
    paid_orders = (
        orders.where(is_paid())
        .select(T, F.col("id").alias("order_id"), is_refunded().alias("_refunded"))
        .repartition(T)
    )
    items = order_items.select(T, "order_id", "product_id", "quantity", "line_total")
    sold = (
        items.repartition(T)
        .join(paid_orders, [T, "order_id"])
        .groupBy(T, "product_id")
        .agg(
            F.sum("quantity").cast("bigint").alias("units_sold"),
            F.sum(F.when(F.col("_refunded"), F.col("quantity")).otherwise(0))
            .cast("bigint")
            .alias("units_refunded"),
            F.countDistinct("order_id").alias("orders"),
            sum_money_if(F.lit(True), "line_total").alias("gross_revenue"),
            sum_money_if(F.col("_refunded"), "line_total").alias("refunds"),
        )
    )
    joined = (
        products.select(
            T,
            F.col("id").alias("product_id"),
            "sku",
            F.col("name").alias("product_name"),
            "category",
            "is_active",
            F.col("cost").alias("unit_cost"),
        )
        .repartition(T)
        .join(sold, [T, "product_id"], "left")
        .fillna(0, ["units_sold", "units_refunded", "orders"])
        .withColumn("gross_revenue", F.coalesce("gross_revenue", zero_money()))
        .withColumn("refunds", F.coalesce("refunds", zero_money()))
        .withColumn("net_revenue", money(F.col("gross_revenue") - F.col("refunds")))
        .withColumn(
            "cost_of_goods",
            money((F.col("units_sold") - F.col("units_refunded")) * F.col("unit_cost")),
        )
    )
    return joined.select(
        T,
        "product_id",
        "sku",
        "product_name",
        "category",
        "is_active",
        "units_sold",
        "units_refunded",
        "orders",
        "gross_revenue",
        "refunds",
        "net_revenue",
        "unit_cost",
        "cost_of_goods",
        money(F.col("net_revenue") - F.col("cost_of_goods")).alias("gross_margin"),
    )

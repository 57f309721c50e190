"""Customers: acquisition by month, cohort retention, lifetime value and RFM segments."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue.gold.transforms.common import (
    MONEY,
    count_if,
    fill_months,
    growth,
    is_paid,
    is_refunded,
    money,
    previous,
    ratio,
    sum_money_if,
    utc_month,
    zero_money,
)
from lakehouse_glue.model import TENANT_COLUMN as T


def customer_acquisition(customers: DataFrame) -> DataFrame:
    """New customers per tenant and calendar month, with the previous month and a running total."""
    monthly = customers.groupBy(T, utc_month("created_at").alias("signup_month")).agg(
        F.count("*").alias("new_customers")
    )
    running = (
        Window.partitionBy(T)
        .orderBy("signup_month")
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    filled = fill_months(monthly, "signup_month", ["new_customers"]).withColumn(
        "previous_month_new_customers", previous("new_customers", "signup_month")
    )
    return filled.select(
        T,
        "signup_month",
        "new_customers",
        "previous_month_new_customers",
        growth(F.col("new_customers"), F.col("previous_month_new_customers")).alias(
            "new_customers_growth"
        ),
        F.sum("new_customers").over(running).cast("bigint").alias("cumulative_customers"),
    )


def cohort_retention(customers: DataFrame, orders: DataFrame) -> DataFrame:
    """Signup cohorts by month and how many of them purchase N months later.

    Every cohort gets a row for each month from its signup month to the tenant's last month
    with a signup or a purchase, so a month with no returning customer shows 0, not nothing.
    """
    members = customers.select(
        T, F.col("id").alias("customer_id"), utc_month("created_at").alias("cohort_month")
    )
    purchases = (
        orders.where(is_paid())
        .select(T, "customer_id", utc_month("paid_at").alias("activity_month"))
        .distinct()
    )
    last_month = (
        members.select(T, F.col("cohort_month").alias("m"))
        .unionAll(purchases.select(T, F.col("activity_month").alias("m")))
        .groupBy(T)
        .agg(F.max("m").alias("last_month"))
    )
    cohorts = members.groupBy(T, "cohort_month").agg(F.count("*").alias("cohort_customers"))
    spine = cohorts.join(last_month, T).select(
        T,
        "cohort_month",
        "cohort_customers",
        F.explode(
            F.sequence(F.lit(0), F.months_between("last_month", "cohort_month").cast("int"))
        ).alias("months_since_signup"),
    )
    retained = (
        members.join(purchases, [T, "customer_id"])
        .select(
            T,
            "cohort_month",
            F.months_between("activity_month", "cohort_month")
            .cast("int")
            .alias("months_since_signup"),
        )
        .where(F.col("months_since_signup") >= 0)
        .groupBy(T, "cohort_month", "months_since_signup")
        .agg(F.count("*").alias("retained_customers"))
    )
    return (
        spine.join(retained, [T, "cohort_month", "months_since_signup"], "left")
        .fillna(0, ["retained_customers"])
        .select(
            T,
            "cohort_month",
            "months_since_signup",
            F.add_months("cohort_month", F.col("months_since_signup")).alias("activity_month"),
            "cohort_customers",
            "retained_customers",
            ratio(F.col("retained_customers"), F.col("cohort_customers")).alias("retention_rate"),
        )
    )


def rfm_segment(recency: Column, frequency: Column, monetary: Column) -> Column:
    """The RFM segment of 1-5 scores (first matching rule wins; see Definitions: RFM)."""
    return (
        F.when(recency.isNull(), "no_purchases")
        .when((recency >= 4) & (frequency >= 4) & (monetary >= 4), "champions")
        .when((recency >= 3) & (frequency >= 3), "loyal")
        .when((recency >= 4) & (frequency <= 2), "new")
        .when((recency <= 2) & (frequency >= 3), "at_risk")
        .when((recency <= 2) & (frequency <= 2), "hibernating")
        .otherwise("needs_attention")
    )


def _score(column: str, ascending: bool) -> Column:
    """``ceil(5 * k / n)`` in exact integer arithmetic, among the tenant's paying customers.

    ``k`` counts the paying customers of the tenant ranking at or below this one (ties share a
    score), ``n`` all of them.
    """
    order = F.col(column).asc() if ascending else F.col(column).desc()
    by_tenant = Window.partitionBy(T, "_is_payer")
    # An ordered window's default frame is RANGE UNBOUNDED PRECEDING..CURRENT ROW: peers count.
    upto = F.count("*").over(by_tenant.orderBy(order))
    total = F.count("*").over(by_tenant)
    # Decimal operands keep the quotient exact (bigint / bigint would be a double).
    quotient = (upto * 5 + total - 1).cast("decimal(20,0)") / total.cast("decimal(20,0)")
    return F.when(F.col("_is_payer"), F.floor(quotient)).cast("int")


def customer_ltv(customers: DataFrame, orders: DataFrame) -> DataFrame:
    """One row per customer: lifetime value, recency, frequency, monetary and RFM segment."""
    per_customer = orders.groupBy(T, "customer_id").agg(
        count_if(is_paid()).alias("orders"),
        sum_money_if(is_paid(), "total").alias("gross_revenue"),
        sum_money_if(is_refunded(), "total").alias("refunds"),
        F.min(F.when(is_paid(), F.col("paid_at"))).alias("first_order_at"),
        F.max(F.when(is_paid(), F.col("paid_at"))).alias("last_order_at"),
    )
    as_of = orders.where(is_paid()).groupBy(T).agg(F.max(F.to_date("paid_at")).alias("as_of_date"))
    base = (
        customers.select(
            T, F.col("id").alias("customer_id"), F.col("created_at").alias("signup_at")
        )
        .join(per_customer, [T, "customer_id"], "left")
        .join(as_of, T, "left")
        .fillna(0, ["orders"])
        .withColumn("gross_revenue", F.coalesce("gross_revenue", zero_money()))
        .withColumn("refunds", F.coalesce("refunds", zero_money()))
        .withColumn("lifetime_value", money(F.col("gross_revenue") - F.col("refunds")))
        .withColumn("recency_days", F.datediff("as_of_date", F.to_date("last_order_at")))
        .withColumn("_is_payer", F.col("orders") > 0)
    )
    scored = (
        base.withColumn("recency_score", _score("recency_days", ascending=False))
        .withColumn("frequency_score", _score("orders", ascending=True))
        .withColumn("monetary_score", _score("lifetime_value", ascending=True))
    )
    return scored.select(
        T,
        "customer_id",
        "signup_at",
        "first_order_at",
        "last_order_at",
        "orders",
        "gross_revenue",
        "refunds",
        "lifetime_value",
        ratio(F.col("gross_revenue"), F.col("orders"), MONEY).alias("average_order_value"),
        "as_of_date",
        "recency_days",
        "recency_score",
        "frequency_score",
        "monetary_score",
        rfm_segment(
            F.col("recency_score"), F.col("frequency_score"), F.col("monetary_score")
        ).alias("rfm_segment"),
    )

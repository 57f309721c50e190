"""Customers: acquisition by month, cohort retention, lifetime value and RFM segments."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue.gold.transforms.common import (
    MONEY,
    fill_months,
    growth,
    is_paid,
    is_refunded,
    money,
    previous,
    ratio,
    utc_month,
)
from lakehouse_glue.model import TENANT_COLUMN as T


def customer_acquisition(customers: DataFrame) -> DataFrame:
    """New customers per tenant and calendar month, with the previous month and a running total.

    The customers are shuffled once, by tenant: the monthly count and the month series'
    windows (by tenant) then run where the rows already are.
    """
    monthly = (
        customers.repartition(T)
        .groupBy(T, utc_month("created_at").alias("signup_month"))
        .agg(F.count("*").alias("new_customers"))
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

    The rows are shuffled once, by tenant: every later step (per customer, the tenant's last
    month, per cohort) groups by the tenant and more, so it runs where the rows already are,
    with no further shuffle and no join.
    """
    no_month = F.lit(None).cast("date")
    rows = customers.select(
        T,
        F.col("id").alias("customer_id"),
        utc_month("created_at").alias("cohort_month"),
        no_month.alias("activity_month"),
    ).unionAll(
        orders.where(is_paid()).select(
            T,
            "customer_id",
            no_month.alias("cohort_month"),
            utc_month("paid_at").alias("activity_month"),
        )
    )
    # One row per customer: the signup month (null: an order of no known customer) and the
    # distinct months with a purchase.
    per_customer = (
        rows.repartition(T)
        .groupBy(T, "customer_id")
        .agg(
            F.max("cohort_month").alias("cohort_month"),
            F.collect_set("activity_month").alias("_months"),
        )
        .withColumn(
            "_last_month",
            F.max(F.greatest("cohort_month", F.array_max("_months"))).over(Window.partitionBy(T)),
        )
    )
    cohort = F.col("cohort_month")
    since = F.filter(
        F.transform("_months", lambda m: F.months_between(m, cohort).cast("int")),
        lambda k: k >= 0,
    )
    # Each member once as -1 (the cohort's size), then once per month since with a purchase.
    cells = per_customer.where(cohort.isNotNull()).select(
        T,
        "cohort_month",
        "_last_month",
        F.explode(F.concat(F.array(F.lit(-1)), since)).alias("_k"),
    )
    k, n = F.col("_k"), F.col("_n")
    per_cohort = (
        cells.groupBy(T, "cohort_month", "_k")
        .agg(F.count("*").alias("_n"), F.max("_last_month").alias("_last_month"))
        .groupBy(T, "cohort_month")
        .agg(
            F.sum(F.when(k == -1, n)).alias("cohort_customers"),
            F.map_from_entries(F.collect_list(F.when(k >= 0, F.struct(k, n)))).alias("_retained"),
            F.max("_last_month").alias("_last_month"),
        )
    )
    spine = per_cohort.select(
        T,
        "cohort_month",
        "cohort_customers",
        "_retained",
        F.explode(
            F.sequence(F.lit(0), F.months_between("_last_month", "cohort_month").cast("int"))
        ).alias("months_since_signup"),
    ).withColumn(
        "retained_customers",
        F.coalesce(F.col("_retained")[F.col("months_since_signup")], F.lit(0).cast("bigint")),
    )
    return spine.select(
        T,
        "cohort_month",
        "months_since_signup",
        F.add_months("cohort_month", F.col("months_since_signup")).alias("activity_month"),
        "cohort_customers",
        "retained_customers",
        ratio(F.col("retained_customers"), F.col("cohort_customers")).alias("retention_rate"),
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
    """One row per customer: lifetime value, recency, frequency, monetary and RFM segment.

    Customers and orders are shuffled once, together, by tenant: one aggregation per customer
    (its customer row and its orders), then the tenant's as-of date and the scores as windows
    over the tenant, where the rows already are; no join.
    """
    no_time, no_money = F.lit(None).cast("timestamp"), F.lit(None).cast("decimal(12,2)")
    rows = customers.select(
        T,
        F.col("id").alias("customer_id"),
        F.col("created_at").alias("signup_at"),
        F.lit(1).alias("_is_customer"),
        no_time.alias("_paid_at"),
        no_money.alias("_gross"),
        no_money.alias("_refund"),
    ).unionAll(
        orders.select(
            T,
            "customer_id",
            no_time.alias("signup_at"),
            F.lit(0).alias("_is_customer"),
            F.when(is_paid(), F.col("paid_at")).alias("_paid_at"),
            F.when(is_paid(), F.col("total")).cast("decimal(12,2)").alias("_gross"),
            F.when(is_refunded(), F.col("total")).cast("decimal(12,2)").alias("_refund"),
        )
    )
    per_customer = (
        rows.repartition(T)
        .groupBy(T, "customer_id")
        .agg(
            F.max("signup_at").alias("signup_at"),
            F.max("_is_customer").alias("_is_customer"),
            F.count("_paid_at").alias("orders"),
            money(F.coalesce(F.sum("_gross"), F.lit(0))).alias("gross_revenue"),
            money(F.coalesce(F.sum("_refund"), F.lit(0))).alias("refunds"),
            F.min("_paid_at").alias("first_order_at"),
            F.max("_paid_at").alias("last_order_at"),
        )
        # The tenant's latest paid day, over every order (a customer's or not).
        .withColumn("as_of_date", F.max(F.to_date("last_order_at")).over(Window.partitionBy(T)))
    )
    base = (
        per_customer.where(F.col("_is_customer") == 1)
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

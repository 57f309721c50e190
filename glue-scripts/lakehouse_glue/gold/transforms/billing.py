"""Subscriptions and invoices: MRR and churn by month, collections by month of issue."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue.gold.transforms.common import (
    count_if,
    money,
    ratio,
    sum_money_if,
    utc_month,
    zero_money,
)
from lakehouse_glue.model import TENANT_COLUMN as T


def subscription_metrics(subscriptions: DataFrame) -> DataFrame:
    """Per tenant and calendar month: MRR and its movements, computed per customer.

    Months run from the tenant's first to its last month with a subscription start or
    cancellation. Each subscription is checked at the end of every month of its tenant, so a
    customer's MRR series has no gaps and movements compare consecutive months.
    """
    subs = subscriptions.select(
        T,
        "customer_id",
        "monthly_amount",
        "cancelled_at",
        utc_month("started_at").alias("_start_month"),
        F.greatest("started_at", F.coalesce("trial_ends_at", "started_at")).alias("_paying_from"),
    )
    # Every subscription row is checked against every month of its tenant: the tenant's month
    # range comes from a window over its subscriptions (no aggregate joined back).
    tenant = Window.partitionBy(T)
    cancel_month = F.coalesce(utc_month("cancelled_at"), F.col("_start_month"))
    grid = (
        subs.withColumn("_first", F.min(F.least("_start_month", cancel_month)).over(tenant))
        .withColumn("_last", F.max(F.greatest("_start_month", cancel_month)).over(tenant))
        .withColumn(
            "subscription_month",
            F.explode(F.sequence("_first", "_last", F.expr("interval 1 month"))),
        )
    )
    month_end = F.add_months("subscription_month", 1).cast("timestamp")
    paying = (F.col("_paying_from") < month_end) & (
        F.col("cancelled_at").isNull() | (F.col("cancelled_at") >= month_end)
    )
    per_customer = (
        grid.groupBy(T, "customer_id", "subscription_month")
        .agg(
            sum_money_if(paying, "monthly_amount").alias("mrr"),
            count_if(paying).alias("subscriptions"),
        )
        .withColumn(
            "previous",
            F.coalesce(
                F.lag("mrr").over(
                    Window.partitionBy(T, "customer_id").orderBy("subscription_month")
                ),
                zero_money(),
            ),
        )
    )
    cur, prev = F.col("mrr"), F.col("previous")
    monthly = per_customer.groupBy(T, "subscription_month").agg(
        money(F.sum(cur)).alias("mrr"),
        money(F.sum(prev)).alias("previous_mrr"),
        count_if(cur > 0).alias("paying_customers"),
        count_if(prev > 0).alias("_previous_paying"),
        F.sum("subscriptions").cast("bigint").alias("active_subscriptions"),
        sum_money_if((prev == 0) & (cur > 0), "mrr").alias("new_mrr"),
        money(F.sum(F.when((prev > 0) & (cur > prev), cur - prev).otherwise(0))).alias(
            "expansion_mrr"
        ),
        money(F.sum(F.when((cur > 0) & (cur < prev), prev - cur).otherwise(0))).alias(
            "contraction_mrr"
        ),
        sum_money_if((prev > 0) & (cur == 0), "previous").alias("churned_mrr"),
        count_if((prev == 0) & (cur > 0)).alias("new_customers"),
        count_if((prev > 0) & (cur == 0)).alias("churned_customers"),
    )
    return monthly.select(
        T,
        "subscription_month",
        "mrr",
        "previous_mrr",
        "paying_customers",
        "active_subscriptions",
        "new_mrr",
        "expansion_mrr",
        "contraction_mrr",
        "churned_mrr",
        money(F.col("mrr") - F.col("previous_mrr")).alias("net_new_mrr"),
        "new_customers",
        "churned_customers",
        ratio(F.col("churned_customers"), F.col("_previous_paying")).alias("customer_churn_rate"),
        ratio(F.col("churned_mrr") + F.col("contraction_mrr"), F.col("previous_mrr")).alias(
            "gross_mrr_churn_rate"
        ),
    )


def invoice_collections(invoices: DataFrame) -> DataFrame:
    """Per tenant and month of issue: what was invoiced, collected, outstanding and overdue."""
    void = F.col("status") == "void"
    issued = ~void
    paid = issued & F.col("paid_at").isNotNull()
    outstanding = issued & F.col("paid_at").isNull()
    overdue = outstanding & (F.col("status") == "overdue")
    days_to_pay = F.datediff(F.to_date("paid_at"), F.to_date("issued_at"))
    monthly = invoices.groupBy(T, utc_month("issued_at").alias("issued_month")).agg(
        count_if(issued).alias("invoices_issued"),
        sum_money_if(issued, "amount").alias("amount_issued"),
        count_if(paid).alias("invoices_paid"),
        sum_money_if(paid, "amount").alias("amount_paid"),
        count_if(paid & (F.col("paid_at") > F.col("due_at"))).alias("invoices_paid_late"),
        count_if(outstanding).alias("invoices_outstanding"),
        sum_money_if(outstanding, "amount").alias("amount_outstanding"),
        count_if(overdue).alias("invoices_overdue"),
        sum_money_if(overdue, "amount").alias("amount_overdue"),
        count_if(void).alias("invoices_void"),
        F.sum(F.when(paid, days_to_pay)).alias("_days_to_pay"),
    )
    return monthly.select(
        T,
        "issued_month",
        "invoices_issued",
        "amount_issued",
        "invoices_paid",
        "amount_paid",
        "invoices_paid_late",
        "invoices_outstanding",
        "amount_outstanding",
        "invoices_overdue",
        "amount_overdue",
        "invoices_void",
        ratio(F.col("_days_to_pay"), F.col("invoices_paid"), "decimal(10,2)").alias(
            "average_days_to_pay"
        ),
        ratio(F.col("amount_paid"), F.col("amount_issued")).alias("collection_rate"),
    )

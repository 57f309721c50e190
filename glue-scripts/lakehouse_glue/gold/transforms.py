"""Pure gold transforms: silver DataFrames in, one mart DataFrame out.

Each public function builds one mart of ``declarations/gold.json``; its parameters are named
after the silver entities it reads (the mart's ``depends_on``, checked by a test). The terms
used here (paid order, refund, active customer, MRR, churn, overdue, ...) are defined once in the
"Definitions" section of ``glue-scripts/README.md``, and these functions implement exactly that.

Rules that hold everywhere:

- Money stays decimal: sums are cast to ``decimal(18,2)``; nothing goes through a double.
- Ratios are decimals rounded half up (``round``), null when the denominator is 0.
- Days and months are UTC: the jobs run with the Spark session time zone set to UTC.
- No Python UDFs and no ``collect``: everything is Spark SQL expressions.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue.model import TENANT_COLUMN as T

MONEY = "decimal(18,2)"
RATE = "decimal(9,4)"
GROWTH = "decimal(12,4)"
FUNNEL_STEPS = ("product_view", "add_to_cart", "checkout_started", "purchase")


# --- shared definitions ---------------------------------------------------------------------


def is_paid(orders_paid_at: str = "paid_at") -> Column:
    """A paid order: ``paid_at`` is set (whatever its status became later)."""
    return F.col(orders_paid_at).isNotNull()


def refund_time() -> Column:
    """When a paid order's money went back: refunded, or cancelled after payment."""
    return F.coalesce(F.col("refunded_at"), F.col("cancelled_at"))


def is_refunded() -> Column:
    """A refund: a paid order that was later refunded or cancelled."""
    return F.col("paid_at").isNotNull() & refund_time().isNotNull()


def utc_month(column: str | Column) -> Column:
    """First day of the UTC month of a timestamp or date."""
    col = F.col(column) if isinstance(column, str) else column
    return F.trunc(F.to_date(col), "month")


def money(column: Column) -> Column:
    return column.cast(MONEY)


def zero_money() -> Column:
    return F.lit(0).cast(MONEY)


def ratio(numerator: Column, denominator: Column, type_: str = RATE) -> Column:
    """``numerator / denominator`` as decimal ``type_`` rounded half up; null when dividing by 0.

    Both sides are cast to ``decimal(18,2)`` first, so Spark divides exactly to 20 decimals
    before the one rounding to the declared scale.
    """
    scale = int(type_.rstrip(")").split(",")[1])
    num = numerator.cast("decimal(18,2)")
    den = denominator.cast("decimal(18,2)")
    return F.when(den != 0, F.round(num / den, scale)).cast(type_)


def growth(current: Column, previous: Column) -> Column:
    """Growth: ``(current - previous) / previous``; null when previous is null or not positive."""
    return F.when(previous > 0, ratio(current - previous, previous, GROWTH)).cast(GROWTH)


def fill_months(df: DataFrame, month_column: str, measures: list[str]) -> DataFrame:
    """Add the calendar months missing between each tenant's months, with 0 measures.

    ``df`` has one row per tenant and month. Each row is exploded into itself plus the empty
    months up to the tenant's next row (found with ``lead``), so the gaps are filled in the same
    pass as the later month-over-month window: no second aggregation, no join.
    """
    by_month = Window.partitionBy(T).orderBy(month_column)
    upto = F.coalesce(F.add_months(F.lead(month_column).over(by_month), -1), F.col(month_column))
    exploded = df.withColumn("_upto", upto).withColumn(
        "_month", F.explode(F.sequence(month_column, "_upto", F.expr("interval 1 month")))
    )
    is_gap = F.col("_month") != F.col(month_column)
    types = {f.name: f.dataType for f in df.schema.fields}
    for name in measures:
        exploded = exploded.withColumn(
            name, F.when(is_gap, F.lit(0).cast(types[name])).otherwise(F.col(name))
        )
    return exploded.drop(month_column, "_upto").withColumnRenamed("_month", month_column)


def _previous(column: str, month_column: str) -> Column:
    return F.lag(column).over(Window.partitionBy(T).orderBy(month_column))


def _count_if(condition: Column) -> Column:
    return F.count(F.when(condition, 1))


def _sum_money_if(condition: Column, amount: str) -> Column:
    return money(F.coalesce(F.sum(F.when(condition, F.col(amount))), F.lit(0)))


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


# --- marts ----------------------------------------------------------------------------------


def tenant_summary(
    tenants: DataFrame, customers: DataFrame, orders: DataFrame, events: DataFrame
) -> DataFrame:
    """One row per tenant: customers, orders, revenue and events over the tenant's lifetime."""
    customer_counts = customers.groupBy(T).agg(
        F.count("*").alias("customers"),
        _count_if(F.col("status") == "active").alias("active_customers"),
    )
    order_counts = orders.groupBy(T).agg(
        F.count("*").alias("orders"),
        _count_if(F.col("status") == "completed").alias("completed_orders"),
        _count_if(is_paid()).alias("paid_orders"),
        _sum_money_if(is_paid(), "total").alias("gross_revenue"),
        _sum_money_if(is_refunded(), "total").alias("refunds"),
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
    """One row per tenant and calendar month from its first to its last month with activity."""
    monthly = _order_movements(orders, "revenue_month", "month")
    measures = ["orders_placed", "orders_paid", "orders_refunded", "gross_revenue", "refunds"]
    filled = (
        fill_months(monthly, "revenue_month", measures)
        .withColumn("net_revenue", money(F.col("gross_revenue") - F.col("refunds")))
        .withColumn("previous_net_revenue", _previous("net_revenue", "revenue_month"))
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
        "previous_month_new_customers", _previous("new_customers", "signup_month")
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
        _count_if(is_paid()).alias("orders"),
        _sum_money_if(is_paid(), "total").alias("gross_revenue"),
        _sum_money_if(is_refunded(), "total").alias("refunds"),
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


def product_performance(
    products: DataFrame, order_items: DataFrame, orders: DataFrame
) -> DataFrame:
    """One row per product: what its items on paid orders sold, refunded and earned."""
    paid_orders = orders.where(is_paid()).select(
        T, F.col("id").alias("order_id"), is_refunded().alias("_refunded")
    )
    sold = (
        order_items.join(paid_orders, [T, "order_id"])
        .groupBy(T, "product_id")
        .agg(
            F.sum("quantity").cast("bigint").alias("units_sold"),
            F.sum(F.when(F.col("_refunded"), F.col("quantity")).otherwise(0))
            .cast("bigint")
            .alias("units_refunded"),
            F.countDistinct("order_id").alias("orders"),
            _sum_money_if(F.lit(True), "line_total").alias("gross_revenue"),
            _sum_money_if(F.col("_refunded"), "line_total").alias("refunds"),
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


def event_funnel(events: DataFrame) -> DataFrame:
    """Per tenant and UTC day: visitors reaching each funnel step, and conversion rates.

    A visitor is a customer, or an anonymous session when the event has no customer. A visitor
    reaches a step on a day when they have that event and every earlier step's event that day.
    """
    visitor = F.coalesce(
        F.concat(F.lit("c:"), F.col("customer_id")), F.concat(F.lit("s:"), F.col("session_id"))
    )
    view, cart, checkout, purchase = (
        F.max(F.when(F.col("event_type") == step, 1).otherwise(0)) for step in FUNNEL_STEPS
    )
    per_visitor = (
        events.where(F.col("event_type").isin(*FUNNEL_STEPS))
        .select(
            T, F.to_date("occurred_at").alias("event_date"), visitor.alias("visitor"), "event_type"
        )
        .where(F.col("visitor").isNotNull())
        .groupBy(T, "event_date", "visitor")
        .agg(view.alias("v"), cart.alias("c"), checkout.alias("k"), purchase.alias("p"))
    )
    daily = per_visitor.groupBy(T, "event_date").agg(
        F.sum("v").cast("bigint").alias("product_viewers"),
        F.sum(F.col("v") * F.col("c")).cast("bigint").alias("cart_adders"),
        F.sum(F.col("v") * F.col("c") * F.col("k")).cast("bigint").alias("checkout_starters"),
        F.sum(F.col("v") * F.col("c") * F.col("k") * F.col("p")).cast("bigint").alias("purchasers"),
    )
    return daily.select(
        T,
        "event_date",
        "product_viewers",
        "cart_adders",
        "checkout_starters",
        "purchasers",
        ratio(F.col("cart_adders"), F.col("product_viewers")).alias("view_to_cart_rate"),
        ratio(F.col("checkout_starters"), F.col("cart_adders")).alias("cart_to_checkout_rate"),
        ratio(F.col("purchasers"), F.col("checkout_starters")).alias("checkout_to_purchase_rate"),
        ratio(F.col("purchasers"), F.col("product_viewers")).alias("view_to_purchase_rate"),
    )


def active_customers(events: DataFrame) -> DataFrame:
    """Per tenant and UTC day with activity: daily and (calendar) monthly active customers."""
    activity = (
        events.where(F.col("customer_id").isNotNull())
        .select(
            T,
            "customer_id",
            F.to_date("occurred_at").alias("activity_date"),
            utc_month("occurred_at").alias("activity_month"),
        )
        .distinct()
    )
    daily = activity.groupBy(T, "activity_date", "activity_month").agg(
        F.count("*").alias("daily_active_customers")
    )
    monthly = activity.groupBy(T, "activity_month").agg(
        F.countDistinct("customer_id").alias("monthly_active_customers")
    )
    return daily.join(monthly, [T, "activity_month"]).select(
        T,
        "activity_date",
        "activity_month",
        "daily_active_customers",
        "monthly_active_customers",
        ratio(F.col("daily_active_customers"), F.col("monthly_active_customers")).alias(
            "daily_to_monthly_ratio"
        ),
    )


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
            _sum_money_if(paying, "monthly_amount").alias("mrr"),
            _count_if(paying).alias("subscriptions"),
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
        _count_if(cur > 0).alias("paying_customers"),
        _count_if(prev > 0).alias("_previous_paying"),
        F.sum("subscriptions").cast("bigint").alias("active_subscriptions"),
        _sum_money_if((prev == 0) & (cur > 0), "mrr").alias("new_mrr"),
        money(F.sum(F.when((prev > 0) & (cur > prev), cur - prev).otherwise(0))).alias(
            "expansion_mrr"
        ),
        money(F.sum(F.when((cur > 0) & (cur < prev), prev - cur).otherwise(0))).alias(
            "contraction_mrr"
        ),
        _sum_money_if((prev > 0) & (cur == 0), "previous").alias("churned_mrr"),
        _count_if((prev == 0) & (cur > 0)).alias("new_customers"),
        _count_if((prev > 0) & (cur == 0)).alias("churned_customers"),
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
        _count_if(issued).alias("invoices_issued"),
        _sum_money_if(issued, "amount").alias("amount_issued"),
        _count_if(paid).alias("invoices_paid"),
        _sum_money_if(paid, "amount").alias("amount_paid"),
        _count_if(paid & (F.col("paid_at") > F.col("due_at"))).alias("invoices_paid_late"),
        _count_if(outstanding).alias("invoices_outstanding"),
        _sum_money_if(outstanding, "amount").alias("amount_outstanding"),
        _count_if(overdue).alias("invoices_overdue"),
        _sum_money_if(overdue, "amount").alias("amount_overdue"),
        _count_if(void).alias("invoices_void"),
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


#: Mart name -> transform; the job scripts call the transform directly, this is for tests and
#: tooling that loop over every mart.
TRANSFORMS = {
    "tenant_summary": tenant_summary,
    "revenue_daily": revenue_daily,
    "revenue_monthly": revenue_monthly,
    "customer_acquisition": customer_acquisition,
    "cohort_retention": cohort_retention,
    "customer_ltv": customer_ltv,
    "product_performance": product_performance,
    "event_funnel": event_funnel,
    "active_customers": active_customers,
    "subscription_metrics": subscription_metrics,
    "invoice_collections": invoice_collections,
}

"""The definitions every mart shares (glue-scripts/README.md "Definitions"): paid and refunded
orders, UTC months, money, ratios, growth and month series."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue.model import TENANT_COLUMN as T

MONEY = "decimal(18,2)"

RATE = "decimal(9,4)"

GROWTH = "decimal(12,4)"


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


def previous(column: str, month_column: str) -> Column:
    return F.lag(column).over(Window.partitionBy(T).orderBy(month_column))


def count_if(condition: Column) -> Column:
    return F.count(F.when(condition, 1))


def sum_money_if(condition: Column, amount: str) -> Column:
    return money(F.coalesce(F.sum(F.when(condition, F.col(amount))), F.lit(0)))

"""The gold I/O adapters on a real local lake folder."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lakehouse_glue.gold.io import gold_input_schema, read_silver, write_mart
from lakehouse_glue.gold.marts import mart
from pyspark.sql import SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

A = "00000000-0000-4000-8000-00000000000a"
B = "00000000-0000-4000-8000-00000000000b"


def summary_rows(spark: SparkSession, tenants: list[str]):  # type: ignore[no-untyped-def]
    rows = [
        (
            t,
            f"T {t[-1]}",
            "free",
            True,
            1,
            1,
            2,
            1,
            1,
            Decimal("10.50"),
            Decimal("0.00"),
            Decimal("10.50"),
            Decimal("10.50"),
            7,
        )
        for t in tenants
    ]
    return spark.createDataFrame(rows, mart("tenant_summary").ddl)


def test_write_mart_overwrites_the_whole_mart_one_file_per_tenant(
    spark: SparkSession, tmp_path: Path
) -> None:
    gold = str(tmp_path / "gold")
    write_mart(summary_rows(spark, [A, B]), "tenant_summary", gold)
    folder = tmp_path / "gold" / "tenant_summary"
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == [
        f"tenant_id={A}",
        f"tenant_id={B}",
    ]
    assert all(len(list(p.glob("*.parquet"))) == 1 for p in folder.iterdir() if p.is_dir())
    # Tenant B vanished from silver: it must vanish from gold too (not a dynamic overwrite).
    write_mart(summary_rows(spark, [A]), "tenant_summary", gold)
    assert [p.name for p in folder.iterdir() if p.is_dir()] == [f"tenant_id={A}"]
    back = spark.read.schema(mart("tenant_summary").ddl).parquet(str(folder))
    assert [(r.tenant_id, r.gross_revenue, r.events) for r in back.collect()] == [
        (A, Decimal("10.50"), 7)
    ]


def test_write_mart_refuses_a_frame_that_drifts_from_gold_json(
    spark: SparkSession, tmp_path: Path
) -> None:
    df = summary_rows(spark, [A]).withColumn("gross_revenue", F.col("events"))
    with pytest.raises(ValueError, match="gross_revenue is bigint, declared decimal"):
        write_mart(df, "tenant_summary", str(tmp_path / "gold"))
    assert not (tmp_path / "gold").exists()


def test_read_silver_selects_declared_columns_and_reads_a_missing_table_as_empty(
    spark: SparkSession, tmp_path: Path
) -> None:
    silver = tmp_path / "silver"
    rows = [("t1", A, "pro", True), ("t2", B, "free", False)]
    spark.createDataFrame(
        rows, "id string, tenant_id string, plan string, is_active boolean"
    ).write.partitionBy("tenant_id").parquet(str(silver / "tenants"))
    tenants = read_silver(spark, str(silver), "tenants")
    assert (
        tenants.schema.simpleString()
        == spark.createDataFrame([], gold_input_schema("tenants")).schema.simpleString()
    )
    assert sorted((r.id, r.tenant_id, r.plan, r.name) for r in tenants.collect()) == [
        ("t1", A, "pro", None),
        ("t2", B, "free", None),
    ]
    events = read_silver(spark, str(silver), "events")
    assert events.count() == 0
    empty = spark.createDataFrame([], gold_input_schema("events"))
    assert events.schema.simpleString() == empty.schema.simpleString()


def test_read_silver_of_a_table_whose_last_tenant_was_removed(
    spark: SparkSession, tmp_path: Path
) -> None:
    """The silver folder exists but holds no partition (every row deleted): zero rows, no error."""
    (tmp_path / "silver" / "orders").mkdir(parents=True)
    orders = read_silver(spark, str(tmp_path / "silver"), "orders")
    assert orders.count() == 0
    assert "total" in orders.columns

"""The gold I/O adapters on real Iceberg tables of a local lake."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lakehouse_glue import iceberg as ice
from lakehouse_glue.gold.io import gold_input_schema, read_silver, write_mart
from lakehouse_glue.gold.marts import mart
from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse.config import Settings
from lakehouse.glue.iceberg import register_lake_catalog
from tests.support import tables

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


@pytest.fixture
def lake(tmp_path: Path) -> Settings:
    return Settings(lake=str(tmp_path / "lake"), state_dir=tmp_path / "state")


def _catalog(spark: SparkSession, lake: Settings) -> str:
    return register_lake_catalog(spark, lake)


def test_write_mart_replaces_the_whole_mart_in_one_commit(
    spark: SparkSession, lake: Settings
) -> None:
    catalog = _catalog(spark, lake)
    write_mart(summary_rows(spark, [A, B]), "tenant_summary", catalog, lake.gold_uri)
    table = tables.gold_table(spark, lake, "tenant_summary")
    files = tables.files_by_tenant(spark, table)
    assert sorted(files) == [A, B]
    assert all(len(f) == 1 for f in files.values())
    first = ice.current_snapshot_id(spark, table)
    # Tenant B vanished from silver: it must vanish from gold too, in the next snapshot.
    write_mart(summary_rows(spark, [A]), "tenant_summary", catalog, lake.gold_uri)
    assert sorted(tables.files_by_tenant(spark, table)) == [A]
    back = tables.read(spark, table)
    assert [(r.tenant_id, r.gross_revenue, r.events) for r in back.collect()] == [
        (A, Decimal("10.50"), 7)
    ]
    # The mart before the replace is still there for time travel, whole.
    before = spark.sql(f"select tenant_id from {table.ident} version as of {first}").collect()
    assert sorted(r.tenant_id for r in before) == [A, B]


def test_write_mart_refuses_a_frame_that_drifts_from_gold_json(
    spark: SparkSession, lake: Settings
) -> None:
    df = summary_rows(spark, [A]).withColumn("gross_revenue", F.col("events"))
    with pytest.raises(ValueError, match="gross_revenue is bigint, declared decimal"):
        write_mart(df, "tenant_summary", _catalog(spark, lake), lake.gold_uri)
    assert not Path(lake.gold_uri).exists()


def test_read_silver_selects_declared_columns_and_reads_a_missing_table_as_empty(
    spark: SparkSession, lake: Settings
) -> None:
    catalog = _catalog(spark, lake)
    rows = [("t1", A, "pro", True), ("t2", B, "free", False)]
    ice.replace(
        spark,
        ice.silver_table(catalog, lake.silver_uri, "tenants"),
        spark.createDataFrame(rows, "id string, tenant_id string, plan string, is_active boolean"),
    )
    with pytest.raises(AnalysisException, match="name"):
        # A declared column the table lacks is an error, not a NULL column.
        read_silver(spark, catalog, lake.silver_uri, "tenants").collect()
    events = read_silver(spark, catalog, lake.silver_uri, "events")
    assert events.count() == 0
    empty = spark.createDataFrame([], gold_input_schema("events"))
    assert events.schema.simpleString() == empty.schema.simpleString()


def test_read_silver_of_a_table_whose_last_row_was_deleted(
    spark: SparkSession, lake: Settings
) -> None:
    """The silver table exists but holds no row (every row deleted): zero rows, no error."""
    catalog = _catalog(spark, lake)
    table = ice.silver_table(catalog, lake.silver_uri, "orders")
    schema = spark.createDataFrame([], gold_input_schema("orders")).schema
    ice.create_if_missing(spark, table, schema)
    orders = read_silver(spark, catalog, lake.silver_uri, "orders")
    assert orders.count() == 0
    assert "total" in orders.columns


def test_write_mart_overwrites_a_mart_of_the_same_schema_and_replaces_one_that_drifted(
    spark: SparkSession, lake: Settings
) -> None:
    """A mart with its declared schema is overwritten in place: one commit, its write order
    kept; a table of another schema (an earlier version's mart) is replaced."""
    catalog = _catalog(spark, lake)
    table = tables.gold_table(spark, lake, "tenant_summary")
    ice.replace(spark, table, summary_rows(spark, [A, B]).withColumn("dropped", F.lit(1)))
    assert "dropped" in ice.columns(spark, table).fieldNames()
    write_mart(summary_rows(spark, [A, B]), "tenant_summary", catalog, lake.gold_uri)
    assert ice.columns(spark, table).fieldNames() == mart("tenant_summary").column_names
    first = ice.current_snapshot_id(spark, table)
    write_mart(summary_rows(spark, [B]), "tenant_summary", catalog, lake.gold_uri, {"k": "v"})
    loaded = ice._loaded(spark, table)
    snapshot = loaded.currentSnapshot()
    assert int(snapshot.parentId()) == first  # one commit, on top of the last one
    assert str(snapshot.operation()) == "overwrite"
    assert dict(snapshot.summary())["k"] == "v"
    assert ice.sort_columns(loaded) == [ice.TENANT_COLUMN]
    assert sorted(tables.files_by_tenant(spark, table)) == [B]
    before = spark.sql(f"select tenant_id from {table.ident} version as of {first}").collect()
    assert sorted(r.tenant_id for r in before) == [A, B]


@pytest.mark.parametrize("small", [True, False], ids=["one task", "shuffled by bucket"])
def test_an_overwritten_mart_has_one_sorted_file_per_bucket(
    spark: SparkSession, lake: Settings, small: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small mart is overwritten by one task (no shuffle), a larger one in the table's own
    distribution: either way one file per bucket that has rows, sorted by tenant."""
    if not small:
        monkeypatch.setattr(ice, "SMALL_WRITE_BYTES", -1)
    catalog = _catalog(spark, lake)
    table = tables.gold_table(spark, lake, "tenant_summary")
    tenants = [f"00000000-0000-4000-8000-{i:012d}" for i in range(300)]
    write_mart(summary_rows(spark, tenants[:2]), "tenant_summary", catalog, lake.gold_uri)
    # Spark knows the size of a range (a frame of local rows it estimates as unbounded).
    first = summary_rows(spark, [A]).first()
    assert first is not None
    rows = spark.range(len(tenants), numPartitions=3).select(
        *[
            F.format_string("00000000-0000-4000-8000-%012d", "id").alias(c.name)
            if c.name == ice.TENANT_COLUMN
            else F.lit(first[c.name]).cast(c.type).alias(c.name)
            for c in mart("tenant_summary").columns
        ]
    )
    assert ice.is_small(rows) is small
    write_mart(rows, "tenant_summary", catalog, lake.gold_uri)
    snapshot = ice._loaded(spark, table).currentSnapshot()
    assert str(snapshot.operation()) == "overwrite"
    files = spark.sql(f"select file_path, partition from {table.metadata_table('files')}").collect()
    assert sorted(f.partition[0] for f in files) == sorted({tables.bucket_of(t) for t in tenants})
    for f in files:
        written = pq.read_table(f.file_path.removeprefix("file:"), columns=["tenant_id"])
        ids = written["tenant_id"].to_pylist()
        assert ids == sorted(ids)
        assert {tables.bucket_of(t) for t in ids} == {f.partition[0]}
    got = spark.sql(f"select tenant_id from {table.ident}").collect()
    assert sorted(r.tenant_id for r in got) == tenants

"""The local GlueContext: S3 and catalog sources and sinks, bookmarks, purge, streaming."""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import types as T  # noqa: N812

from lakehouse.catalog.store import load_catalog
from lakehouse.glue.runner import ensure_stubs_on_path

ensure_stubs_on_path()

from awsglue import _catalog, _local  # noqa: E402
from awsglue.context import GlueContext  # noqa: E402
from awsglue.dynamicframe import DynamicFrame  # noqa: E402
from awsglue.job import Job  # noqa: E402


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    _local.configure(str(tmp_path / "state"), str(tmp_path / "catalog"), str(tmp_path / "s3"))
    return tmp_path


@pytest.fixture
def gc(spark: SparkSession, lake: Path) -> GlueContext:
    return GlueContext(spark.sparkContext)


def test_csv_from_s3_with_format_options_exclusions_and_recurse(
    gc: GlueContext, lake: Path
) -> None:
    root = lake / "s3" / "raw" / "people"
    (root / "2024").mkdir(parents=True)
    (root / "a.csv").write_text("id|name\n1|Ann\n2|'B|ob'\n")
    (root / "2024" / "b.csv.gz").write_bytes(gzip.compress(b"id|name\n3|Cy\n"))
    (root / "notes.txt").write_text("id|name\n9|Nobody\n")
    opts = {"withHeader": True, "separator": "|", "quoteChar": "'"}

    def read(recurse: bool) -> list[tuple[str, str, str]]:
        dyf = gc.create_dynamic_frame.from_options(
            "s3",
            {
                "paths": ["s3://raw/people/"],
                "recurse": recurse,
                "exclusions": '["**.txt"]',
                "groupFiles": "inPartition",
            },
            format="csv",
            format_options={**opts, "attachFilename": "file"},
        )
        return sorted((r["id"], r["name"], r["file"]) for r in dyf.toDF().collect())

    assert read(False) == [
        ("1", "Ann", "s3://raw/people/a.csv"),
        ("2", "B|ob", "s3://raw/people/a.csv"),
    ]
    assert [r[:2] for r in read(True)] == [("1", "Ann"), ("2", "B|ob"), ("3", "Cy")]
    with pytest.raises(
        NotImplementedError, match=r"connection_type 'dynamodb'.*not supported locally"
    ):
        gc.create_dynamic_frame.from_options("dynamodb", {"dynamodb.input.tableName": "t"})
    with pytest.raises(NotImplementedError, match=r"option\(s\) \['jsonPath2'\]"):
        gc.create_dynamic_frame.from_options(
            "s3", {"paths": ["s3://raw/people/"]}, format="json", format_options={"jsonPath2": 1}
        )
    with pytest.raises(NotImplementedError, match="format 'avro'"):
        gc.create_dynamic_frame.from_options("s3", {"paths": ["s3://raw/"]}, format="avro")
    with pytest.raises(ValueError, match=r"'\.\.' segments"):
        gc.create_dynamic_frame.from_options("s3", {"paths": ["s3://raw/../../etc"]}, format="csv")


def test_parquet_and_orc_sources_are_bookmarked(
    spark: SparkSession, gc: GlueContext, lake: Path
) -> None:
    df = spark.createDataFrame([(1, "a")], "k int, v string")
    df.write.parquet(str(lake / "s3" / "b" / "pq" / "one"))
    df.write.orc(str(lake / "s3" / "b" / "orc"))
    orc = gc.create_dynamic_frame.from_options("s3", {"paths": ["s3://b/orc"]}, format="orc")
    assert [tuple(r) for r in orc.toDF().collect()] == [(1, "a")]

    def run() -> list[int]:
        job = Job(gc)
        job.init("pq_job", {"job_bookmark_option": "job-bookmark-enable"})
        dyf = gc.create_dynamic_frame.from_options(
            "s3",
            {"paths": ["s3://b/pq"], "recurse": True},
            format="parquet",
            transformation_ctx="pq_source",
        )
        got = sorted(r["k"] for r in dyf.toDF().collect()) if dyf.toDF().columns else []
        job.commit()
        return got

    assert run() == [1]
    assert run() == []  # nothing new
    spark.createDataFrame([(2, "b")], "k int, v string").write.parquet(
        str(lake / "s3" / "b" / "pq" / "two")
    )
    assert run() == [2]  # only the new file


def _partitioned_table(spark: SparkSession, gc: GlueContext) -> None:
    frame = DynamicFrame.fromDF(
        spark.createDataFrame(
            [(1, "FR", 2023, 10.5), (2, "FR", 2024, 20.0), (3, "DE", 2024, 7.25)],
            "order_id int, country string, year int, amount double",
        ),
        gc,
        "orders",
    )
    sink = gc.getSink(
        connection_type="s3",
        path="s3://warehouse/orders/",
        enableUpdateCatalog=True,
        updateBehavior="UPDATE_IN_DATABASE",
        partitionKeys=["country", "year"],
    )
    sink.setFormat("glueparquet")
    sink.setCatalogInfo(catalogDatabase="Sales", catalogTableName="orders")
    sink.writeFrame(frame)


def test_get_sink_registers_the_table_and_its_partitions(
    spark: SparkSession, gc: GlueContext, lake: Path
) -> None:
    _partitioned_table(spark, gc)
    table = load_catalog(str(lake / "catalog")).get("sales", "orders")
    assert table is not None
    assert [(c.name, c.type) for c in table.columns] == [("order_id", "int"), ("amount", "double")]
    assert [(c.name, c.type) for c in table.partition_keys] == [
        ("country", "string"),
        ("year", "int"),
    ]
    assert table.partitions == ("DE/2024", "FR/2023", "FR/2024")
    assert table.format == "parquet"
    assert Path(table.location) == lake / "s3" / "warehouse" / "orders"
    assert (lake / "s3" / "warehouse" / "orders" / "country=FR" / "year=2023").is_dir()
    # LOG keeps the columns and adds partitions.
    more = DynamicFrame.fromDF(
        spark.createDataFrame(
            [(4, "ES", 2025, 1.0, "x")],
            "order_id int, country string, year int, amount double, extra string",
        ),
        gc,
        "more",
    )
    sink = gc.getSink(
        connection_type="s3",
        path="s3://warehouse/orders/",
        enableUpdateCatalog=True,
        updateBehavior="LOG",
        partitionKeys=["country", "year"],
    )
    sink.setFormat("glueparquet")
    sink.setCatalogInfo(catalogDatabase="sales", catalogTableName="orders")
    sink.writeFrame(more)
    table = load_catalog(str(lake / "catalog")).get("sales", "orders")
    assert table is not None
    assert [c.name for c in table.columns] == ["order_id", "amount"]
    assert table.partitions == ("DE/2024", "ES/2025", "FR/2023", "FR/2024")
    with pytest.raises(ValueError, match="not usable in the catalog"):
        sink.setCatalogInfo(catalogDatabase="../etc", catalogTableName="passwd")


def test_from_catalog_pushes_the_predicate_down_to_partitions(
    spark: SparkSession, gc: GlueContext, lake: Path
) -> None:
    _partitioned_table(spark, gc)
    dyf = gc.create_dynamic_frame.from_catalog(
        database="sales",
        table_name="orders",
        push_down_predicate="country = 'FR' and year >= 2024",
    )
    rows = [r.asDict() for r in dyf.toDF().collect()]
    assert rows == [{"order_id": 2, "amount": 20.0, "country": "FR", "year": 2024}]
    assert isinstance(dyf.toDF().schema["year"].dataType, T.IntegerType)
    df = gc.create_data_frame.from_catalog(database="sales", table_name="orders")
    assert sorted(r["order_id"] for r in df.collect()) == [1, 2, 3]
    with pytest.raises(_catalog.EntityNotFoundException, match="lakehouse crawl"):
        gc.create_dynamic_frame.from_catalog(database="sales", table_name="nope")
    with pytest.raises(ValueError, match="not a valid condition"):
        gc.create_dynamic_frame.from_catalog(
            database="sales", table_name="orders", push_down_predicate="colour = 1"
        ).toDF().collect()


def test_write_from_options_and_from_catalog_append_files(
    spark: SparkSession, gc: GlueContext, lake: Path
) -> None:
    _partitioned_table(spark, gc)
    frame = DynamicFrame.fromDF(
        spark.createDataFrame(
            [(5, "FR", 2024, 3.0)], "order_id int, country string, year int, amount double"
        ),
        gc,
        "new",
    )

    def bookmarked_read() -> list[int]:
        job = Job(gc)
        job.init("catalog_job", {"job_bookmark_option": "job-bookmark-enable"})
        dyf = gc.create_dynamic_frame.from_catalog(
            database="sales", table_name="orders", transformation_ctx="orders_source"
        )
        got = sorted(r["order_id"] for r in dyf.toDF().collect())
        job.commit()
        return got

    assert bookmarked_read() == [1, 2, 3]
    gc.write_dynamic_frame.from_catalog(frame=frame, database="sales", table_name="orders")
    assert bookmarked_read() == [5]  # a catalog source is bookmarked too: only the new file
    again = gc.create_dynamic_frame.from_catalog(
        database="sales", table_name="orders", push_down_predicate="country = 'FR' and year = 2024"
    )
    assert sorted(r["order_id"] for r in again.toDF().collect()) == [2, 5]  # appended
    for fmt in ("csv", "json"):
        gc.write_dynamic_frame.from_options(
            frame=frame,
            connection_type="s3",
            connection_options={"path": f"s3://out/{fmt}", "partitionKeys": ["country"]},
            format=fmt,
        )
        folder = lake / "s3" / "out" / fmt / "country=FR"
        text = "".join(p.read_text() for p in folder.glob("part-*"))
        assert "2024" in text, (fmt, text)
    assert (lake / "s3" / "out" / "csv" / "country=FR").is_dir()
    header = next((lake / "s3" / "out" / "csv" / "country=FR").glob("part-*.csv")).read_text()
    assert header.splitlines()[0] == "order_id,year,amount"  # writeHeader defaults to true


def test_purge_s3_path_keeps_files_inside_the_retention_period(gc: GlueContext, lake: Path) -> None:
    folder = lake / "s3" / "tmp" / "x"
    folder.mkdir(parents=True)
    old, new = folder / "old.csv", folder / "new.csv"
    old.write_text("a\n")
    new.write_text("b\n")
    week_ago = time.time() - 8 * 24 * 3600
    os.utime(old, (week_ago, week_ago))
    gc.purge_s3_path("s3://tmp/x/", {"manifestFilePath": "s3://tmp/manifest/"})
    assert not old.exists()
    assert new.exists()
    manifest = (lake / "s3" / "tmp" / "manifest" / "Success.csv").read_text()
    assert manifest.strip().endswith("old.csv")
    gc.purge_s3_path("s3://tmp/x/", {"retentionPeriod": 0})
    assert not new.exists()


def test_for_each_batch_runs_the_stream_to_its_end(
    spark: SparkSession, gc: GlueContext, lake: Path
) -> None:
    src = lake / "s3" / "in"
    src.mkdir(parents=True)
    (src / "1.json").write_text(json.dumps({"n": 1}) + "\n" + json.dumps({"n": 2}) + "\n")
    stream = spark.readStream.schema("n long").json(str(src))
    seen: list[int] = []

    def batch(df: object, batch_id: int) -> None:
        seen.extend(r["n"] for r in df.collect())  # type: ignore[attr-defined]

    gc.forEachBatch(frame=stream, batch_function=batch, options={"checkpointLocation": "s3://ck/x"})
    assert sorted(seen) == [1, 2]
    with pytest.raises(ValueError, match="streaming DataFrame"):
        gc.forEachBatch(spark.range(1), batch, {"checkpointLocation": "s3://ck/y"})


def test_from_catalog_reads_an_iceberg_table_at_its_current_snapshot(
    gc: GlueContext, tmp_path: Path
) -> None:
    from lakehouse.catalog.crawler import crawl
    from tests.support.lake import build_lake
    from tests.support.lake_iceberg import TENANTS

    lake = build_lake(tmp_path / "ice", "iceberg", crawled=False)
    crawl(lake.settings, ["silver"])
    _local.configure(lake.settings.glue_state_uri, lake.settings.catalog_uri, None)
    acme = TENANTS["acme"]
    everything = gc.create_dynamic_frame.from_catalog(database="silver", table_name="orders")
    assert everything.count() == len(lake.rows["third"])  # the current snapshot only
    expected = sorted(
        (r["order_id"], r["amount"]) for r in lake.rows["third"] if r["tenant_id"] == acme
    )
    mine = everything.toDF().where(f"tenant_id = '{acme}'")
    assert sorted((r["order_id"], r["amount"]) for r in mine.collect()) == expected
    # bucket(N, tenant_id) has no partition column to push a tenant predicate down to (Glue
    # itself reads Iceberg tables with DataFrames, not DynamicFrames): said, not ignored.
    with pytest.raises(ValueError, match="no partition keys"):
        gc.create_dynamic_frame.from_catalog(
            database="silver", table_name="orders", push_down_predicate=f"tenant_id = '{acme}'"
        )

"""Silver on Iceberg: schema evolution, and the catalog's guard rails, on real tables."""

from __future__ import annotations

import dataclasses
import random
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lakehouse_glue import iceberg as ice
from lakehouse_glue import silver as silver_job
from lakehouse_glue.model import Column, Declaration, load_declaration
from pyspark.sql import SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention
from pyspark.sql.types import StructType

from lakehouse.config import Settings
from lakehouse.glue.iceberg import register_lake_catalog
from lakehouse.glue.runner import start_job_run
from tests.support import tables
from tests.support.bronze import cid, customer, default_header, seq, write_file

JOB = load_declaration().entity("customers").silver_job_name


@pytest.fixture
def lake(tmp_path: Path) -> Settings:
    return Settings(lake=str(tmp_path / "lake"), state_dir=tmp_path / "state")


def _schema(spark: SparkSession, ddl: str) -> StructType:
    return spark.createDataFrame([], ddl).schema


def test_evolve_adds_columns_widens_types_and_refuses_the_rest(
    spark: SparkSession, lake: Settings
) -> None:
    table = ice.silver_table(register_lake_catalog(spark, lake), lake.silver_uri, "probe")
    ice.replace(
        spark,
        table,
        spark.createDataFrame([("a", "t", 1, 1.5)], "id string, tenant_id string, n int, x float"),
    )
    wanted = "id string, tenant_id string, n bigint, x double, added string"
    assert ice.evolve(spark, table, _schema(spark, wanted)) == []
    back = tables.read(spark, table)
    assert back.schema == _schema(spark, wanted)
    assert [tuple(r) for r in back.collect()] == [("a", "t", 1, 1.5, None)]
    problems = ice.evolve(spark, table, _schema(spark, "id string, tenant_id string, n string"))
    assert problems == [
        "column n is bigint in silver.probe but declared string, which Iceberg cannot promote it to"
    ]
    assert tables.read(spark, table).schema == _schema(spark, wanted)  # nothing was changed


def test_many_small_bucket_files_are_read_by_a_few_tasks(
    spark: SparkSession, lake: Settings
) -> None:
    """1,000 tenants fill every bucket with a tiny file; a scan packs them into few tasks.

    Iceberg counts a small file as ``read.split.open-file-cost`` bytes in a 16 MiB split: at its
    default (4 MiB) the 64 files took 16 tasks, one per four files.
    """
    table = ice.silver_table(register_lake_catalog(spark, lake), lake.silver_uri, "many")
    rows = [(f"r{i}", f"tenant-{i:04d}") for i in range(1000)]
    ice.replace(spark, table, spark.createDataFrame(rows, "id string, tenant_id string"))
    files = spark.sql(f"select count(*) from {table.metadata_table('files')}").first()
    assert files is not None
    assert files[0] == ice.LAYOUT.tenant_buckets
    # 64 files at 1 MiB in 16 MiB splits: 4 tasks (16 at the default 4 MiB).
    assert spark.table(table.ident).rdd.getNumPartitions() <= 4
    assert sorted(tuple(r) for r in spark.table(table.ident).collect()) == sorted(rows)


def _declaring(extra: Column) -> Declaration:
    declaration = load_declaration()
    customers = declaration.entity("customers")
    evolved = dataclasses.replace(customers, columns=(*customers.columns, extra))
    return dataclasses.replace(
        declaration,
        entities=tuple(evolved if e.name == "customers" else e for e in declaration.entities),
    )


def test_a_column_added_at_the_source_flows_into_silver_and_a_type_change_is_quarantined(
    spark: SparkSession, lake: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    bronze = Path(lake.bronze_uri)
    write_file(bronze, "customers", "LOAD00000001.csv.gz", [customer("I", 1), customer("I", 2)])
    assert start_job_run(lake, JOB, spark=spark).state == "SUCCEEDED"

    # The source gains a column, and the declaration names it.
    monkeypatch.setattr(
        silver_job, "load_declaration", lambda: _declaring(Column("loyalty_tier", "string", True))
    )
    header = [*default_header("customers"), "loyalty_tier"]
    ts = "2024-01-02 00:00:00.000000"
    rows = [customer("U", 2, s=5, ts=ts, loyalty_tier="gold"), customer("I", 3, s=6, ts=ts)]
    write_file(bronze, "customers", "20240102-000000000001.csv.gz", rows, header=header)
    run = start_job_run(lake, JOB, spark=spark)
    assert run.state == "SUCCEEDED", run.error
    silver = tables.read(spark, tables.silver_table(spark, lake, "customers"))
    assert "loyalty_tier" in silver.columns
    assert {r["id"]: r["loyalty_tier"] for r in silver.collect()} == {
        cid(1): None,  # written before the column existed
        cid(2): "gold",
        cid(3): None,
    }
    history = tables.read(spark, tables.history_table(spark, lake, "customers"))
    assert {(r["id"], r["source_change_seq"], r["loyalty_tier"]) for r in history.collect()} == {
        (cid(1), seq(0), None),
        (cid(2), seq(0), None),
        (cid(2), seq(5), "gold"),
        (cid(3), seq(6), None),
    }

    # Then the declaration changes the column's type to one Iceberg cannot promote a string to:
    # the batch is quarantined with the reason, silver keeps its rows, nothing is cast.
    monkeypatch.setattr(
        silver_job, "load_declaration", lambda: _declaring(Column("loyalty_tier", "int", True))
    )
    before = silver.collect()
    late = [customer("U", 3, s=7, ts="2024-01-03 00:00:00.000000", loyalty_tier="7")]
    write_file(bronze, "customers", "20240103-000000000001.csv.gz", late, header=header)
    run = start_job_run(lake, JOB, spark=spark)
    assert run.state == "SUCCEEDED", run.error
    assert run.report is not None
    assert run.report["status"] == "quarantined"
    assert run.report["rules"]["incompatible_schema_change"] == {
        "severity": "hard",
        "scope": "table",
        "violations": 1,
    }
    assert run.report["schema_drift"]["incompatible"][0].startswith(
        "column loyalty_tier is string in silver.customers but declared int"
    )
    after = tables.read(spark, tables.silver_table(spark, lake, "customers"))
    assert sorted(map(tuple, after.collect())) == sorted(map(tuple, before))
    q = spark.read.parquet(f"{lake.quarantine_uri}/customers").collect()
    assert [(r["id"], r["quarantine_rule"]) for r in q] == [(cid(3), "incompatible_schema_change")]
    assert "--full-refresh" in q[0]["quarantine_reason"]


def test_an_earlier_plain_parquet_silver_is_refused_then_rebuilt_by_a_full_refresh(
    spark: SparkSession, lake: Settings
) -> None:
    write_file(Path(lake.bronze_uri), "customers", "LOAD00000001.csv.gz", [customer("I", 1)])
    old = Path(lake.silver_uri) / "customers"
    spark.createDataFrame([("x", "t")], "id string, tenant_id string").write.partitionBy(
        "tenant_id"
    ).parquet(str(old))
    run = start_job_run(lake, JOB, spark=spark)
    assert run.state == "FAILED"
    assert run.error is not None
    assert "plain Parquet table" in run.error
    assert "lakehouse pipeline run --full-refresh" in run.error
    full = start_job_run(lake, JOB, {"--full_refresh": "true"}, spark=spark)
    assert full.state == "SUCCEEDED", full.error
    silver = tables.read(spark, tables.silver_table(spark, lake, "customers"))
    assert [r["id"] for r in silver.collect()] == [cid(1)]
    assert not list(old.glob("tenant_id=*"))


BUCKET = (f"bucket[{ice.LAYOUT.tenant_buckets}]", "tenant_id")


def _spec(spark: SparkSession, table: ice.Table) -> list[tuple[str, str]]:
    return [(t, c) for _, t, c in ice.partition_fields(ice._loaded(spark, table))]


def test_a_table_created_elsewhere_gets_the_partition_spec_and_properties(
    spark: SparkSession, lake: Settings
) -> None:
    """As Terraform creates the tables on AWS: unpartitioned, without our write modes."""
    table = ice.silver_table(
        register_lake_catalog(spark, lake), lake.silver_uri, "made_by_tf", key="id"
    )
    spark.sql(f"create table {table.ident} (id string, tenant_id string) using iceberg")
    spark.sql(f"insert into {table.ident} values ('a', 't1')")
    assert ice.evolve(spark, table, _schema(spark, "id string, tenant_id string")) == []
    assert _spec(spark, table) == [BUCKET]
    assert ice.sort_columns(ice._loaded(spark, table)) == ["tenant_id", "id"]
    props = {r[0]: r[1] for r in spark.sql(f"show tblproperties {table.ident}").collect()}
    assert props["write.merge.mode"] == "merge-on-read"
    assert props["write.delete.mode"] == "copy-on-write"
    assert props["format-version"] == "2"
    assert props["write.metadata.metrics.column.tenant_id"] == "full"
    spark.sql(f"insert into {table.ident} values ('b', 't2')")
    partitions = {
        r[0]: r[1]
        for r in spark.sql(
            f"select file_path, partition from {table.metadata_table('files')}"
        ).collect()
    }
    # New files are bucketed; the old one keeps the unpartitioned spec and stays readable.
    assert sorted((p[0] for p in partitions.values()), key=str) == sorted(
        [None, tables.bucket_of("t2")], key=str
    )
    assert sorted(r.id for r in tables.read(spark, table).collect()) == ["a", "b"]


def test_a_lake_partitioned_by_tenant_identity_is_evolved_to_buckets(
    spark: SparkSession, lake: Settings
) -> None:
    """A lake an earlier version wrote (one partition per tenant) needs no full refresh."""
    table = ice.silver_table(register_lake_catalog(spark, lake), lake.silver_uri, "old", key="id")
    spark.sql(
        f"create table {table.ident} (id string, tenant_id string, n int) using iceberg "
        "partitioned by (tenant_id) tblproperties ('format-version' = '2')"
    )
    spark.sql(f"insert into {table.ident} values ('a', 't1', 1), ('b', 't2', 2)")
    wanted = _schema(spark, "id string, tenant_id string, n int")
    assert ice.evolve(spark, table, wanted) == []
    assert _spec(spark, table) == [BUCKET]
    before = ice.current_snapshot_id(spark, table)
    assert ice.evolve(spark, table, wanted) == []  # converged: nothing more to commit
    assert ice._loaded(spark, table).currentSnapshot().snapshotId() == before
    # A merge touching t1 writes t1's new version under the bucket spec and deletes the old row
    # by position in t1's identity partition (merge-on-read); t2's file stays.
    source = spark.createDataFrame([("a", "t1", 10)], "id string, tenant_id string, n int")
    ice.merge(
        spark,
        table,
        source,
        "merge into {target} t using {source} s on t.tenant_id = s.tenant_id and t.id = s.id "
        "when matched then update set t.n = s.n",
    )
    files = spark.sql(f"select content, partition from {table.metadata_table('files')}")
    by_spec = sorted(
        ((r[0], r[1]["tenant_id"], r[1][ice.PARTITION_FIELD]) for r in files.collect()),
        key=str,
    )
    data, position_deletes = 0, 1
    expected = [
        (data, "t1", None),
        (data, "t2", None),
        (data, None, tables.bucket_of("t1")),
        (position_deletes, "t1", None),
    ]
    assert by_spec == sorted(expected, key=str)
    assert sorted((r.id, r.n) for r in tables.read(spark, table).collect()) == [
        ("a", 10),
        ("b", 2),
    ]


@pytest.mark.parametrize("small", [True, False], ids=["one task", "shuffled by bucket"])
def test_a_replaced_table_has_one_sorted_file_per_bucket(
    spark: SparkSession, lake: Settings, small: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A frame under ice.SMALL_WRITE_BYTES is written by one task without a shuffle; a larger
    # one (here: every frame, the threshold below any size) is shuffled by bucket first.
    if not small:
        monkeypatch.setattr(ice, "SMALL_WRITE_BYTES", -1)
    table = ice.silver_table(register_lake_catalog(spark, lake), lake.silver_uri, "many", key="id")
    tenants = [f"tenant-{i:04d}" for i in range(500)]
    rows = [(i, tenants[(i * 7) % len(tenants)]) for i in range(3000)]
    # Spark knows the size of a range (a frame of local rows it estimates as unbounded).
    df = spark.range(len(rows), numPartitions=3).select(
        "id", F.format_string("tenant-%04d", (F.col("id") * 7) % len(tenants)).alias("tenant_id")
    )
    assert ice.is_small(df) is small
    ice.replace(spark, table, df)
    files = spark.sql(
        f"select file_path, partition, record_count from {table.metadata_table('files')}"
    ).collect()
    buckets = {tables.bucket_of(t) for t in tenants}
    # One file per bucket that has rows: bounded by N, not by the 500 tenants.
    assert sorted(f.partition[0] for f in files) == sorted(buckets)
    assert sum(f.record_count for f in files) == len(rows)
    for f in files:
        written = pq.read_table(f.file_path.removeprefix("file:"), columns=["tenant_id", "id"])
        keys = list(zip(written["tenant_id"].to_pylist(), written["id"].to_pylist(), strict=True))
        assert keys == sorted(keys)
        assert {tables.bucket_of(t) for t, _ in keys} == {f.partition[0]}
    assert ice.sort_columns(ice._loaded(spark, table)) == ["tenant_id", "id"]
    assert ice.one_file_per_partition(spark, table)
    # The statement wrote with distribution mode "none" (the rows came shaped); the table's own
    # properties are the declared ones again, so a later MERGE is rebalanced by bucket.
    loaded = ice._loaded(spark, table)
    properties = dict(loaded.properties())
    properties["format-version"] = str(loaded.operations().current().formatVersion())
    assert properties["write.distribution-mode"] == "hash"
    assert {k: properties.get(k) for k in ice.table_properties(table)} == ice.table_properties(
        table
    )
    # A second file in a bucket: the rows of a bucket are no longer one file in write order.
    df.limit(1).writeTo(table.ident).append()
    assert not ice.one_file_per_partition(spark, table)


def test_the_uuid_sort_prefix_never_decreases_along_bucket_tenant_and_key(
    spark: SparkSession, lake: Settings
) -> None:
    """Sorting on the prefix first keeps the (bucket, tenant, key) order, and the prefix tells
    rows apart (it is what Spark compares before fetching whole rows)."""
    table = ice.silver_table(register_lake_catalog(spark, lake), lake.silver_uri, "p", key="id")
    rng = random.Random(18)

    def uuid_text(prefix: str = "") -> str:
        return prefix + str(uuid.UUID(int=rng.getrandbits(128)))[len(prefix) :]

    # Tenants sharing 7 of the 8 hex digits the prefix takes, keys sharing all 6 of theirs.
    tenants = [uuid_text() for _ in range(200)] + [uuid_text("abcdef0") for _ in range(20)]
    rows: list[tuple[str | None, str | None]] = [
        (rng.choice(tenants), uuid_text("123456" if rng.random() < 0.1 else ""))
        for _ in range(4000)
    ]
    rows += [(None, uuid_text()), (None, None), (tenants[0], None), ("ffffffff" + "-0" * 4, None)]
    df = (
        spark.createDataFrame(rows, "tenant_id string, id string")
        .withColumn(ice.BUCKET_COLUMN, ice.bucket_of(table))
        .withColumn(ice.SORT_PREFIX_COLUMN, ice.uuid_sort_prefix(table))
    )
    order = [ice.BUCKET_COLUMN, "tenant_id", "id"]
    by_keys = df.orderBy(*order).collect()
    prefixes = [bytes(r[ice.SORT_PREFIX_COLUMN]) for r in by_keys]
    assert all(len(p) == 8 for p in prefixes)
    assert prefixes == sorted(prefixes)
    by_prefix = df.orderBy(ice.SORT_PREFIX_COLUMN, *order).collect()
    assert [tuple(r) for r in by_prefix] == [tuple(r) for r in by_keys]
    assert len(set(prefixes)) > 0.85 * len(rows)

"""Silver on Iceberg: schema evolution, and the catalog's guard rails, on real tables."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from lakehouse_glue import iceberg as ice
from lakehouse_glue import silver as silver_job
from lakehouse_glue.model import Column, Declaration, load_declaration
from pyspark.sql import SparkSession
from pyspark.sql.types import StructType

from lakehouse.config import Settings
from lakehouse.glue.iceberg import register_lake_catalog
from lakehouse.glue.runner import start_job_run
from tests.glue_scripts import tables
from tests.glue_scripts.bronze_files import default_header, write_file
from tests.glue_scripts.test_silver_job import cid, customer, seq

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


def test_a_table_created_elsewhere_gets_the_partition_spec_and_properties(
    spark: SparkSession, lake: Settings
) -> None:
    """As Terraform creates the tables on AWS: unpartitioned, without our write modes."""
    table = ice.silver_table(register_lake_catalog(spark, lake), lake.silver_uri, "made_by_tf")
    spark.sql(f"create table {table.ident} (id string, tenant_id string) using iceberg")
    spark.sql(f"insert into {table.ident} values ('a', 't1')")
    assert ice.evolve(spark, table, _schema(spark, "id string, tenant_id string")) == []
    spec = spark.sql(f"select partition from {table.metadata_table('partitions')}").schema
    assert "tenant_id" in spec["partition"].dataType.fieldNames()  # type: ignore[attr-defined]
    props = {r[0]: r[1] for r in spark.sql(f"show tblproperties {table.ident}").collect()}
    assert props["write.merge.mode"] == "copy-on-write"
    assert props["format-version"] == "2"
    spark.sql(f"insert into {table.ident} values ('b', 't2')")
    files = tables.files_by_tenant(spark, table)
    assert "t2" in files  # new files are partitioned; the old one stays readable
    assert sorted(r.id for r in tables.read(spark, table).collect()) == ["a", "b"]

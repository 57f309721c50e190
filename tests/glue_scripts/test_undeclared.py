"""Undeclared source columns: carried into silver as text, typed once declared."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from lakehouse_glue import iceberg as ice
from lakehouse_glue import silver as silver_job
from lakehouse_glue import undeclared
from lakehouse_glue.model import CARRIED_COMMENT, Column, Declaration, load_declaration
from lakehouse_glue.model import load_bronze_contract as contract
from pyspark.sql import SparkSession
from pyspark.sql.types import IntegerType, StringType, StructField, StructType

from lakehouse.athena.engine import AthenaEngine
from lakehouse.catalog.crawler import crawl
from lakehouse.catalog.store import load_catalog
from lakehouse.config import Settings
from lakehouse.glue.runner import JobRun, start_job_run
from tests.support import tables
from tests.support.bronze import cid, customer, default_header, seq, write_file

CUSTOMERS = load_declaration().entity("customers")
JOB = CUSTOMERS.silver_job_name
TIER = "loyalty_tier"


@pytest.fixture
def lake(tmp_path: Path) -> Settings:
    return Settings(lake=str(tmp_path / "lake"), state_dir=tmp_path / "state")


def test_only_plain_lower_case_names_the_lakehouse_does_not_use_are_carried() -> None:
    """A header is input: its names go into SQL and the catalog only when they are safe."""
    hostile = [
        "Loyalty",  # another case: Spark resolves names without case
        "x`; drop table silver.customers; --",
        "a b",
        "_row_order",  # the job's own columns start with _
        "raw__email",  # the quarantine's raw text of email
        "op",  # bronze's Op in another case
        "valid_from",
        "is_current",
        "processed_at",
        "quarantine_reason",
        "n" * 129,
        "ünicode",
        "loyalty_points\n",  # "$" alone would match before a final line break
    ]
    table = StructType(
        [
            StructField("id", StringType()),
            StructField("legacy_score", IntegerType()),  # once declared, since removed
            StructField("source_committed_at", StringType()),
        ]
    )
    header = (*default_header("customers"), *hostile, "loyalty_tier", "legacy_score")
    plan = undeclared.plan(CUSTOMERS, contract(), [header], [table, None])
    assert plan.names == ("loyalty_tier",)
    assert sorted(plan.refused) == sorted([*hostile, "legacy_score"])
    assert "declare it again" in plan.refused["legacy_score"]
    assert "lower-case identifier" in plan.refused["Loyalty"]
    assert "a column of its own" in plan.refused["valid_from"]
    carried = plan.entity.column(TIER)
    assert (carried.type, carried.nullable, carried.carried) == ("string", True, True)
    assert plan.entity.columns[: len(CUSTOMERS.columns)] == CUSTOMERS.columns

    # Columns the tables already carry stay carried, even in a batch whose files lack them.
    kept = StructType([StructField(TIER, StringType(), metadata={"comment": CARRIED_COMMENT})])
    assert undeclared.plan(CUSTOMERS, contract(), [], [kept]).names == (TIER,)


def _declaring(extra: Column) -> Declaration:
    declaration = load_declaration()
    evolved = dataclasses.replace(CUSTOMERS, columns=(*CUSTOMERS.columns, extra))
    return dataclasses.replace(
        declaration,
        entities=tuple(evolved if e.name == "customers" else e for e in declaration.entities),
    )


def _run(lake: Settings, spark: SparkSession, full_refresh: bool = False) -> dict[str, Any]:
    args = {"--full_refresh": "true"} if full_refresh else None
    run: JobRun = start_job_run(lake, JOB, args, spark=spark)
    assert run.state == "SUCCEEDED", run.error
    assert run.report is not None
    return run.report


def _silver(spark: SparkSession, lake: Settings) -> dict[str, Any]:
    table = tables.silver_table(spark, lake, "customers")
    return {r["id"]: r[TIER] for r in tables.read(spark, table).collect()}


def _history(spark: SparkSession, lake: Settings) -> set[tuple[str, str, Any]]:
    table = tables.history_table(spark, lake, "customers")
    return {(r["id"], r["source_change_seq"], r[TIER]) for r in tables.read(spark, table).collect()}


def test_an_undeclared_column_flows_as_text_and_is_typed_once_declared(  # noqa: PLR0915 - one scenario, step by step
    spark: SparkSession, lake: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    bronze = Path(lake.bronze_uri)
    write_file(bronze, "customers", "LOAD00000001.csv.gz", [customer("I", 1), customer("I", 2)])
    assert _run(lake, spark)["schema_drift"]["carried"] == {}

    # The source gains a column nobody has declared yet (and one whose name is refused).
    header = [*default_header("customers"), TIER, "Bad Name"]
    ts = "2024-01-02 00:00:00.000000"
    rows = [
        customer("U", 2, s=5, ts=ts, loyalty_tier="7", **{"Bad Name": "x"}),
        customer("I", 3, s=6, ts=ts, loyalty_tier="12"),
        customer("I", 4, s=7, ts=ts, loyalty_tier=""),  # '' is not NULL
        customer("I", 5, s=8, ts=ts, loyalty_tier=None),
    ]
    write_file(bronze, "customers", "20240102-000000000001.csv.gz", rows, header=header)
    report = _run(lake, spark)
    assert report["status"] == "ok"
    drift = report["schema_drift"]
    assert list(drift["carried"]) == [TIER]
    assert "declare it in entities.json" in drift["carried"][TIER]
    assert list(drift["not_carried"]) == ["Bad Name"]
    text = {cid(1): None, cid(2): "7", cid(3): "12", cid(4): "", cid(5): None}
    assert _silver(spark, lake) == text  # the bronze text exactly; the row before it NULL
    versions = {
        (cid(1), seq(0), None),
        (cid(2), seq(0), None),
        (cid(2), seq(5), "7"),
        (cid(3), seq(6), "12"),
        (cid(4), seq(7), ""),
        (cid(5), seq(8), None),
    }
    assert _history(spark, lake) == versions
    schema = tables.read(spark, tables.silver_table(spark, lake, "customers")).schema
    assert schema[TIER].dataType == StringType()
    assert schema[TIER].metadata["comment"] == CARRIED_COMMENT

    # The local Athena engine reads the column (the snapshot's schema, through pyiceberg).
    crawl(lake, ["silver"])
    registered = load_catalog(lake.catalog_uri).get("silver", "customers")
    assert registered is not None
    assert (TIER, "string") in [(c.name, c.type) for c in registered.columns]
    assert TIER in registered.drift.added_vs_declaration  # the crawler reports it too
    with AthenaEngine(lake, save_results=False) as engine:
        (result,) = engine.execute(f"select id, {TIER} from silver.customers")
    assert dict(result.rows) == text

    # A rebuild from bronze gives the same tables, the column still marked as carried.
    assert _run(lake, spark, full_refresh=True)["schema_drift"]["carried"] == {
        TIER: drift["carried"][TIER]
    }
    assert _silver(spark, lake) == text
    assert _history(spark, lake) == versions
    table = tables.silver_table(spark, lake, "customers")
    assert tables.read(spark, table).schema[TIER].metadata["comment"] == CARRIED_COMMENT
    before = ice.current_snapshot_id(spark, table)

    # Now it is declared as int: the carried text is typed, '' (not an int) is quarantined and
    # read NULL, and a change in a file without the column is a row image without it.
    monkeypatch.setattr(
        silver_job, "load_declaration", lambda: _declaring(Column(TIER, "int", True))
    )
    ts = "2024-01-03 00:00:00.000000"
    write_file(
        bronze,
        "customers",
        "20240103-000000000001.csv.gz",
        [customer("U", 1, s=9, ts=ts, loyalty_tier="3")],
        header=header[:-1],
    )
    write_file(
        bronze,
        "customers",
        "20240103-000000000002.csv.gz",
        [customer("U", 3, s=10, ts=ts, first_name="Grace")],
    )
    report = _run(lake, spark)
    assert report["status"] == "quarantined"
    assert report["values_quarantined"] == 2
    assert [
        (t["table"], t["column"], t["type"], t["values_quarantined"])
        for t in report["schema_drift"]["typed"]
    ] == [
        ("silver.customers", TIER, "int", 1),
        ("silver.customers_history", TIER, "int", 1),
    ]
    assert _silver(spark, lake) == {cid(1): 3, cid(2): 7, cid(3): None, cid(4): None, cid(5): None}
    assert _history(spark, lake) == {
        (cid(1), seq(0), None),
        (cid(1), seq(9), 3),
        (cid(2), seq(0), None),
        (cid(2), seq(5), 7),
        (cid(3), seq(6), 12),
        (cid(3), seq(10), None),
        (cid(4), seq(7), None),
        (cid(5), seq(8), None),
    }
    typed = tables.read(spark, table).schema[TIER]
    assert typed.dataType == IntegerType()
    assert typed.metadata.get("comment") is None
    # Nothing is lost: the snapshot before holds the text, the quarantine the value and reason.
    old = spark.sql(f"select id, {TIER} from {table.ident} version as of {before}")
    assert {r["id"]: r[TIER] for r in old.collect()} == text
    q = spark.read.parquet(f"{lake.quarantine_uri}/customers").collect()
    assert sorted((r["id"], r["source_file"], r[TIER], r["quarantine_rule"]) for r in q) == [
        (cid(4), "silver.customers", "", "unparsable_value"),
        (cid(4), "silver.customers_history", "", "unparsable_value"),
    ]
    assert "keeps the row with loyalty_tier NULL" in q[0]["quarantine_reason"]
    assert {r["dms_change_seq"] for r in q} == {seq(7)}

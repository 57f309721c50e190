"""Glue job ``offboard_tenant`` run through the local Glue stand-in on a lake built from PostgreSQL.

The source is seeded and replicated, the silver jobs and one gold mart run, and the job is given
one tenant's id: afterwards every silver table equals PostgreSQL without that tenant's rows, the
history tables and the mart hold none of its rows and every other tenant's rows unchanged, and
the job's record counts what it deleted. A hostile or unknown ``--tenant_id`` fails before
anything changes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from lakehouse_glue import iceberg as ice
from lakehouse_glue.tenants import offboarded_list_path, offboarding_report_path
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse.config import Settings
from lakehouse.glue.iceberg import register_lake_catalog
from lakehouse.glue.runner import JobRun, start_job_run
from lakehouse.source.seed import seed
from tests.support import tables
from tests.support.lake import (
    drop_slot,
    entities,
    lake_settings,
    replicate_once,
    silver_frame,
    source_frame,
)
from tests.support.spark import assert_frames_equal

pytestmark = pytest.mark.slow

JOB = "offboard_tenant"
MART = "tenant_summary"


def _offboard(spark: SparkSession, settings: Settings, tenant_id: str) -> JobRun:
    return start_job_run(settings, JOB, {"--tenant_id": tenant_id}, spark=spark)


def _others(df: DataFrame, tenant_id: str) -> list[tuple[object, ...]]:
    return sorted(map(tuple, df.where(F.col(ice.TENANT_COLUMN) != tenant_id).collect()), key=repr)


def _mine(df: DataFrame, tenant_id: str) -> int:
    return df.where(F.col(ice.TENANT_COLUMN) == tenant_id).count()


def test_the_job_erases_one_tenant_and_refuses_a_bad_id(
    spark: SparkSession, make_source_db: Callable[[], str], tmp_path: Path
) -> None:
    dsn = make_source_db()
    seed(dsn, scale=0.01, seed=5, reset=False)
    settings = lake_settings(tmp_path / "lake", dsn)
    try:
        replicate_once(settings)
    finally:
        drop_slot(dsn, settings.slot_name)
    for job in [e.silver_job_name for e in entities()] + [f"create_gold_{MART}"]:
        run = start_job_run(settings, job, spark=spark)
        assert run.state == "SUCCEEDED", (job, run.error)
    with psycopg.connect(dsn) as conn:
        row = conn.execute("select id::text, slug from tenants order by slug limit 1").fetchone()
        assert row is not None
        gone, slug = row
        # How many rows of each table the tenant has in the source.
        owned = {
            e.name: conn.execute(
                f"select count(*) from {e.name} where {e.tenant_column} = %s",
                [gone],
            ).fetchone()[0]  # type: ignore[index]
            for e in entities()
        }
    catalog = register_lake_catalog(spark, settings)
    history = {e.name: ice.history_table(catalog, settings.silver_uri, e.name) for e in entities()}
    gold = ice.gold_table(catalog, settings.gold_uri, MART)
    history_before = {n: _others(spark.table(t.ident), gone) for n, t in history.items()}
    gold_before = _others(spark.table(gold.ident), gone)
    assert _mine(spark.table(gold.ident), gone) > 0

    # Hostile and unknown ids fail before the lake is touched: no list, no row deleted.
    for bad in ("x' or '1'='1", f"{gone}' or tenant_id <> '", "../../silver"):
        run = _offboard(spark, settings, bad)
        assert run.state == "FAILED"
        assert run.error is not None
        assert "TenantIdError: a tenant id is a lower-case UUID" in run.error, run.error
    unknown = _offboard(spark, settings, str(uuid.uuid4()))
    assert unknown.state == "FAILED"
    assert unknown.error is not None
    assert "UnknownTenantError: no tenant with id" in unknown.error
    assert not Path(offboarded_list_path(settings.silver_uri)).exists()
    assert _mine(tables.read(spark, history["customers"]), gone) > 0

    run = _offboard(spark, settings, gone.upper())  # a UUID in capitals names the same tenant
    assert run.state == "SUCCEEDED", run.error

    for entity in entities():
        expected = source_frame(spark, dsn, entity).where(F.col(entity.tenant_column) != gone)
        assert_frames_equal(silver_frame(spark, settings, entity), expected)
        after = spark.table(history[entity.name].ident)
        assert _mine(after, gone) == 0, entity.name
        assert _others(after, gone) == history_before[entity.name], entity.name
    assert _mine(spark.table(gold.ident), gone) == 0
    assert _others(spark.table(gold.ident), gone) == gold_before
    record = json.loads(Path(offboarding_report_path(settings.reports_uri, gone)).read_text())
    assert (record["tenant_id"], record["slug"]) == (gone, slug)
    for entity in entities():
        assert record["deleted"][f"silver.{entity.name}"] == owned[entity.name], entity.name
    assert record["deleted"][f"gold.{MART}"] > 0
    # Bronze still holds the tenant's rows (the full load of every table it has rows in).
    held = {Path(f["uri"]).parent.name for f in record["bronze"]}
    assert held == {name for name, n in owned.items() if n > 0}
